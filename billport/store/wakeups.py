"""Wake idle workers on SQLite at once: a datagram to each worker's socket.

PostgreSQL has ``LISTEN``/``NOTIFY`` (``operations.notify_workers``). SQLite has nothing of
the kind, and every process that shares a SQLite store shares its directory, so each idle
worker registers in ``<database file>.wakeup/`` and waits on a Unix datagram socket (with a
timeout: an expired lease still needs a poll). Whoever commits new work sends one byte to
every registered socket, after the commit, so a woken worker finds the row.

The sockets live in Linux's abstract namespace (no file, no 108-byte path limit); the
directory holds one empty marker file per worker naming its socket. A marker whose worker
is gone refuses the datagram and is removed. Sending never blocks and never fails the
caller: a worker that misses a wake-up polls soon anyway. Elsewhere than Linux workers
simply poll (``available()`` is false).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import sys
import uuid
from pathlib import Path

log = logging.getLogger("billport.worker")
SUFFIX = ".sock"
AFTER_COMMIT = "billport.wake_workers"  # conn.info flag: Database.begin nudges on commit
PREFIX = b"\0billport-wakeup-"


def available() -> bool:
    return sys.platform.startswith("linux")


def _address(marker: Path) -> bytes:
    return PREFIX + marker.name.removesuffix(SUFFIX).encode()


def wakeup_dir(database_file: Path) -> Path:
    return database_file.with_name(database_file.name + ".wakeup")


def nudge(directory: Path) -> int:
    """Wake every worker waiting on a socket in ``directory``; how many were reached."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return 0  # no worker ever waited here
    reached = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for entry in entries:
            if not entry.name.endswith(SUFFIX):
                continue
            try:
                sender.sendto(b"!", _address(entry))
                reached += 1
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    entry.unlink()  # its worker is gone
            except (BlockingIOError, OSError):
                reached += 1  # its queue is full: it has been woken already
    return reached


class Listener:
    """One worker's socket: :meth:`wait` returns on a wake-up or after ``timeout``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:16]}{SUFFIX}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(_address(self.path))
        self.socket.setblocking(False)
        self.path.touch(mode=0o600)  # registered only once the socket is bound

    def wait(self, timeout: float) -> bool:
        """``True`` when woken; every queued wake-up is consumed."""
        ready, _, _ = select.select([self.socket], [], [], max(timeout, 0.0))
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while self.socket.recv(16):
                pass
        return True

    def close(self) -> None:
        self.socket.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
