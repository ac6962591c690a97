"""Preallocate a file ahead of a bulk load's writes, on a second thread (Linux).

A bulk load into SQLite writes gigabytes of new pages, and each ``pwrite`` past the end of
the file makes the kernel allocate, zero and account fresh page-cache memory on the writing
thread. On the 2-core VM billport is measured on, that was ~2.5 s per GB of system time
(first touches of guest memory), as much CPU as SQLite's own work (docs/performance.md,
"Seeding"). A :class:`Preallocator` keeps a window of the file ahead of the writer already
allocated (``fallocate``) and in the page cache (``posix_fadvise(WILLNEED)`` zero-fills it),
so the writer's ``pwrite`` only copies into pages that exist.

It never writes file data: ``fallocate`` (mode 0) only reserves blocks and can only grow
the file, so it cannot touch a page SQLite has written. SQLite reads its size from the
header and ignores zeros past it, and :func:`preallocated` trims them off before the load
commits.

Its own descriptor stays open until the process exits: closing a second descriptor on a
SQLite file releases every POSIX lock the process holds on it (SQLite's "how to corrupt"
page, section 2.2), and other connections of this process may hold some. One descriptor per
database file per process, and only for loads that write at least ``START_BYTES``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

WINDOW = 128 << 20  # bytes kept allocated ahead of the writer
STEP = 2 << 20  # one fallocate + WILLNEED: the kernel reads ahead at most a few MB per call
START_BYTES = 64 << 20  # smaller loads never open a descriptor
POLL = 0.002  # seconds between looks at the writer's progress

_descriptors: dict[tuple[int, int], int] = {}  # (st_dev, st_ino) -> our O_RDWR descriptor
_descriptors_lock = threading.Lock()


def _load_fallocate() -> Callable[[int, int, int], int] | None:
    """fallocate(2) itself: glibc's posix_fallocate falls back to writing zeros, which would
    race with the writer, where the system call only fails (EOPNOTSUPP)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int

    def fallocate(fd: int, offset: int, length: int) -> int:
        return 0 if function(fd, 0, offset, length) == 0 else ctypes.get_errno()

    return fallocate


_fallocate = _load_fallocate()


def written_bytes() -> int | None:
    """Bytes this process has passed to write calls so far (``wchar``), or None off Linux."""
    try:
        with open("/proc/self/io", "rb") as io:
            for line in io:
                if line.startswith(b"wchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def supported() -> bool:
    return _fallocate is not None and written_bytes() is not None


def _descriptor(path: Path) -> int:
    status = path.stat()
    key = (status.st_dev, status.st_ino)
    with _descriptors_lock:
        if key not in _descriptors:
            _descriptors[key] = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        return _descriptors[key]


class Preallocator(threading.Thread):
    """While running, keeps ``window`` bytes past the writer's position allocated and cached.

    The writer's position is estimated as the file's size at the start plus the bytes this
    process has written since (``/proc/self/io``): other writes only move the window further
    ahead, by what they wrote.
    """

    def __init__(self, path: Path, *, window: int | None = None, start_bytes: int | None = None):
        super().__init__(name="billport-preallocate", daemon=True)
        self.path = path
        self.window = WINDOW if window is None else window
        self.start_bytes = START_BYTES if start_bytes is None else start_bytes
        self.origin = path.stat().st_size  # the file's size when the load began
        self.allocated = 0  # end of the preallocated region; 0 until the first step
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            self._run()
        except OSError as exc:  # an optimisation only: the load goes on without it
            log.debug("preallocating %s stopped: %s", self.path, exc)

    def _run(self) -> None:
        baseline = written_bytes()
        assert _fallocate is not None and baseline is not None
        fd: int | None = None
        while not self._stop_event.wait(POLL):
            progress = (written_bytes() or baseline) - baseline
            if progress < self.start_bytes:
                continue
            if fd is None:
                fd = _descriptor(self.path)
            target = self.origin + progress + self.window
            self.allocated = max(self.allocated, os.fstat(fd).st_size)
            while self.allocated < target and not self._stop_event.is_set():
                error = _fallocate(fd, self.allocated, STEP)
                if error:
                    raise OSError(error, os.strerror(error), str(self.path))
                os.posix_fadvise(fd, self.allocated, STEP, os.POSIX_FADV_WILLNEED)
                self.allocated += STEP

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def trim(self, size: int) -> None:
        """Cut what was preallocated past ``size`` (the database's own size) off the file."""
        if self.allocated > size:
            fd = _descriptor(self.path)
            if os.fstat(fd).st_size > size:
                os.ftruncate(fd, size)


@contextmanager
def preallocated(path: Path | None, size: Callable[[], int]) -> Iterator[None]:
    """Run the block with a :class:`Preallocator` on ``path`` where that is supported.

    The block runs inside the load's transaction, and so does the trimming that follows it,
    while no other connection can write: the file is cut to ``size()``, the database's size
    then, page for page what SQLite may have written. After a failed load, whose rollback
    shrinks the database again, the file may keep zeros past it up to that size: SQLite
    ignores them and overwrites them as the database grows.
    """
    if path is None or not supported() or not path.is_file():
        yield
        return
    preallocator = Preallocator(path)
    preallocator.start()
    try:
        yield
    except BaseException:
        preallocator.stop()
        with suppress(Exception):  # the load's own error is the one to raise
            preallocator.trim(size())
        raise
    preallocator.stop()
    preallocator.trim(size())
