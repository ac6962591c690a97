"""One blob of an export, written in an export process: the worker plans, a child writes.

One process reads and compresses at once (two threads, both outside the GIL), so it keeps
about two cores busy; more cores need more processes. A task is one blob: an id range of
the scope plus the name and staging key the worker chose, so the worker always knows every
name it may have to clean up. The child opens its own database connection and blob store
(kept for the next task), streams the range, stages the gzip blob and returns it closed;
it never publishes — the worker publishes every blob once all are written and it still
holds the lease.

The child reads its blob in the same chunks as the in-process writer (``stream_chunks``
restarts its chunking at every blob), so the output is byte for byte what one process
would write: deflate output depends on how input is fed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass, field

from billport.blobs.base import BlobStore
from billport.blobs.factory import open_blob_store
from billport.exports.layout import part_name
from billport.exports.ranges import BlobRange, write_range
from billport.exports.writer import ExportWriteError, WrittenBlob
from billport.settings import Settings
from billport.store.db import Database

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class BlobTask:
    """Everything a child needs to write one blob; pickled to the export process."""

    settings: Settings
    sas_key: bytes = field(repr=False)
    target: BlobRange  # one blob's ids; ``target.first_blob`` is its number
    name: str

    @property
    def index(self) -> int:
        return self.target.first_blob


def plan_tasks(
    settings: Settings, sas_key: bytes, target: BlobRange, starts: list[int], end: int
) -> list[BlobTask]:
    """One task per blob of ``target``; ``starts`` are the blobs' first ids, ``end`` is past
    the last id."""
    return [
        BlobTask(settings, sas_key, blob, part_name(blob.first_blob))
        for blob in target.split(starts, end)
    ]


_opened: tuple[Settings, bytes, Database, BlobStore] | None = None


def _stores(settings: Settings, sas_key: bytes) -> tuple[Database, BlobStore]:
    """This process's database and blob store, opened once per settings."""
    global _opened
    if _opened is None or _opened[0] != settings or _opened[1] != sas_key:
        if _opened is not None:
            _opened[2].dispose()
        db = Database.from_settings(settings, migrate_schema=False)
        _opened = (settings, sas_key, db, open_blob_store(settings, sas_key))
    return _opened[2], _opened[3]


def write_blob(task: BlobTask) -> WrittenBlob:
    """Runs in an export process: stage the task's blob and hand it back closed."""
    db, blobs = _stores(task.settings, task.sas_key)
    written = write_range(db, blobs, task.target, level=task.settings.gzip_level, names=[task.name])
    if len(written) != 1:  # an empty range: the data changed under the plan
        raise ExportWriteError(f"blob {task.index} of {task.target.root} has no rows")
    return written[0]


def child_started(worker_pid: int) -> None:
    """Pool initializer: children stop when the worker says so, or die with it.

    Ctrl-C reaches the whole process group; the worker turns it into a clean stop and
    kills its children itself. If the worker dies (kill -9), its children must not outlive
    it writing blobs nobody will clean up, or wait forever for tasks: Linux kills them with
    it. (Children never exit on their own: each holds both ends of the pool's task queue.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before prctl took effect
        os._exit(1)
