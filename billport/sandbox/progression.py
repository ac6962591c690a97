"""When a poller may see that an operation has finished (pure).

The worker may finish an export in milliseconds; the scenario decides when the client is
told. Until then the operation reads as ``running``, which is what a real, slow export looks
like. A job the worker has not finished is never shown as finished.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billport.sandbox.scenario import Progression


def revealed(progression: Progression, *, created_at: datetime, now: datetime, polls: int) -> bool:
    """Whether a finished operation may be shown as finished on this read.

    ``polls`` counts this read: the first poll is 1, so ``polls:3`` succeeds on the third.
    """
    if progression.kind == "after":
        return now >= created_at + timedelta(seconds=progression.value)
    if progression.kind == "polls":
        return polls >= progression.value
    return True
