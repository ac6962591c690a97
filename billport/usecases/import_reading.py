"""How ``billport import`` gets its rows into ``line_items``: read and checked in this
thread while a second thread writes the previous batch.

Chunks rendered in worker processes (``ingest/chunks.py`` depends on its arguments only)
were measured no faster on the 2-core machine (docs/performance.md#import): sending lines
and unpickling rows cost the parent 6.5–8 µs a row, and the writer's inserts and the kernel
already use the second core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

from billport.ingest.files import Source
from billport.ingest.reader import Reader
from billport.store.loading import LineItemRow

Sink = Callable[[list[LineItemRow]], None]


def read_into(
    reader: Reader, sources: list[Source], sink: Sink, written: Callable[[int], None]
) -> None:
    """Every row of ``sources`` through ``reader`` into ``sink``; the reader's tallies,
    shapes and notes are complete when this returns. The writer thread also hashes the
    documents read so far (``Reader.defer_hashing``) after each batch it writes."""

    def write_and_hash(batch: list[LineItemRow]) -> None:
        sink(batch)
        reader.hash_pending()

    reader.defer_hashing = True
    try:
        write_behind(write_and_hash, reader.batches(sources), written)
    finally:
        reader.defer_hashing = False
    reader.hash_pending()


def write_behind(
    sink: Sink, batches: Iterable[list[LineItemRow]], written: Callable[[int], None]
) -> None:
    """Write each batch in a second thread while the next one is read and checked.

    SQLite and psycopg release the GIL while they write, so writing overlaps the reading.
    At most two batches wait (memory stays flat); a failure on either side stops both, and
    the caller's transaction is rolled back.
    """
    waiting: queue.Queue[list[LineItemRow] | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def write() -> None:
        while (batch := waiting.get()) is not None:
            if failed:
                continue  # drain, so that the reader never blocks on a full queue
            try:
                sink(batch)
            except BaseException as exc:  # re-raised in the caller's thread
                failed.append(exc)

    writer = threading.Thread(target=write, name="billport-import-writer", daemon=True)
    writer.start()
    try:
        for batch in batches:
            if failed:
                break
            waiting.put(batch)
            written(len(batch))
    finally:
        waiting.put(None)
        writer.join()
    if failed:
        raise failed[0]
