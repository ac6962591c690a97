"""One sync at a time per lake: an exclusive ``flock`` on ``DIR/.billport/lock``.

Two runs on one lake (a timer firing while a slow run still goes) would export the same
invoices twice and race on the state file; the second is refused at once, naming the lock.
The kernel drops the lock when its process dies, so a killed run never leaves it held.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from billport.errors import BillportError
from billport.lake import paths


class LakeBusy(BillportError):
    """Another ``billport sync`` holds the lake (CLI exit code 2)."""


@contextlib.contextmanager
def lake_lock(lake: Path, dry_run: bool = False) -> Iterator[None]:
    """Hold the lake for this process; a dry run writes nothing and takes no lock."""
    if dry_run:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform: one run is on you
        yield
        return
    target = paths.work_dir(lake) / "lock"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LakeBusy(
                f"another billport sync is running on {lake} (it holds {target})"
            ) from None
        yield
    finally:
        os.close(fd)
