"""A clock tests move by hand: progression ``after:s``, SAS expiry and compliance, no sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    """Callable like ``runtime.clock``; ``advance(seconds)`` moves it forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
