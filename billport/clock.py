"""The clock: wall time unless ``BILLPORT_NOW`` pins it (tests, demo)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from billport.settings import Settings

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def clock_from_settings(settings: Settings) -> Clock:
    pinned = settings.pinned_now
    if pinned is None:
        return wall_clock
    return lambda: pinned


def month_key(moment: datetime) -> int:
    """``2024-10-08`` -> ``202410``: the billing month as used in storage paths."""
    return moment.year * 100 + moment.month


def previous_month_key(key: int) -> int:
    year, month = divmod(key, 100)
    return (year - 1) * 100 + 12 if month == 1 else year * 100 + month - 1
