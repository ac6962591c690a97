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
from contextlib import closing
from dataclasses import dataclass

from billport.billing.scopes import Scope
from billport.blobs.base import BlobStore
from billport.blobs.factory import open_blob_store
from billport.exports.layout import part_name
from billport.exports.writer import ExportWriteError, WrittenPart, write_parts
from billport.settings import Settings
from billport.store import export_rows
from billport.store.db import Database
from billport.store.export_rows import IdRange

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class BlobTask:
    """Everything a child needs to write one blob; pickled to the export process."""

    settings: Settings
    sas_key: bytes
    scope: Scope
    ids: IdRange
    index: int  # the blob's number: ``part-{index:05d}-…``
    blob_rows: int  # most rows a blob holds
    name: str
    staging_key: str
    root: str


def plan_tasks(
    settings: Settings,
    sas_key: bytes,
    scope: Scope,
    starts: list[int],
    end: int,
    *,
    staging_key: str,
    root: str,
    blob_rows: int,
    first_blob: int = 0,
) -> list[BlobTask]:
    """One task per blob; ``starts`` are the blobs' first ids, ``end`` is past the last id."""
    ranges = zip(starts, [*starts[1:], end], strict=True)
    return [
        BlobTask(
            settings=settings,
            sas_key=sas_key,
            scope=scope,
            ids=ids,
            index=first_blob + offset,
            blob_rows=blob_rows,
            name=part_name(first_blob + offset),
            staging_key=staging_key,
            root=root,
        )
        for offset, ids in enumerate(ranges)
    ]


_opened: tuple[Settings, bytes, Database, BlobStore] | None = None


def _services(settings: Settings, sas_key: bytes) -> tuple[Database, BlobStore]:
    """This process's database and blob store, opened once per settings."""
    global _opened
    if _opened is None or _opened[0] != settings or _opened[1] != sas_key:
        if _opened is not None:
            _opened[2].dispose()
        db = Database.from_settings(settings, migrate_schema=False)
        _opened = (settings, sas_key, db, open_blob_store(settings, sas_key))
    return _opened[2], _opened[3]


def write_blob(task: BlobTask) -> WrittenPart:
    """Runs in an export process: stage the task's blob and hand it back closed."""
    db, blobs = _services(task.settings, task.sas_key)
    with (
        db.connect() as conn,
        closing(
            export_rows.stream_chunks(conn, task.scope, blob_rows=task.blob_rows, ids=task.ids)
        ) as chunks,
    ):  # closed before the connection goes back: PostgreSQL's COPY must end first
        written = write_parts(
            chunks,
            store=blobs,
            staging_key=task.staging_key,
            root=task.root,
            part_rows=task.blob_rows,
            level=task.settings.gzip_level,
            first_part=task.index,
            names=[task.name],
        )
    if len(written) != 1:  # an empty range: the data changed under the plan
        raise ExportWriteError(f"blob {task.index} of {task.root} has no rows")
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
