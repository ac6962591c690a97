"""Write an id range of an export's scope into staged gzip blobs.

The one path from rows to blobs: a whole export, one partition of a partitioned export,
and one blob written in an export process all call :func:`write_range`. It streams the
range's pre-rendered documents (``store.export_rows.stream_chunks``, which restarts its
chunking at every blob, so whoever writes a blob writes the same bytes) into
``exports.writer.write_blobs``. Blobs are staged, never published here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace

import sqlalchemy as sa

from billport.billing.scopes import Scope
from billport.blobs.base import BlobStore
from billport.exports.writer import WrittenBlob, write_blobs
from billport.store import aggregated_rows, export_rows
from billport.store.db import Database
from billport.store.export_rows import Chunk, IdRange
from billport.store.manifests import ExportBlob


@dataclass(frozen=True)
class BlobRange:
    """Rows of ``scope`` to write: ids in ``ids`` (``None``: all of them), cut into blobs of
    ``blob_rows`` rows numbered from ``first_blob``, staged under ``staging_key`` for
    ``root``."""

    scope: Scope
    ids: IdRange | None
    root: str
    staging_key: str
    blob_rows: int
    first_blob: int = 0

    def split(self, starts: Sequence[int], end: int) -> list[BlobRange]:
        """One range per blob; ``starts`` are the blobs' first ids, ``end`` is past the last."""
        bounds = zip(starts, [*starts[1:], end], strict=True)
        return [
            replace(self, ids=ids, first_blob=self.first_blob + offset)
            for offset, ids in enumerate(bounds)
        ]


def write_range(
    db: Database,
    blobs: BlobStore,
    target: BlobRange,
    *,
    level: int,
    on_batch: Callable[[int], None] | None = None,
    names: Sequence[str] | None = None,
) -> list[WrittenBlob]:
    """Stage ``target``'s rows as gzip JSON-lines blobs (see ``write_blobs``)."""
    with (
        db.connect() as conn,
        closing(_chunks(conn, target)) as chunks,
    ):  # closed before the connection goes back: PostgreSQL's COPY must end first
        return write_blobs(
            chunks,
            store=blobs,
            staging_key=target.staging_key,
            root=target.root,
            blob_rows=target.blob_rows,
            level=level,
            on_batch=on_batch,
            first_blob=target.first_blob,
            names=names,
        )


def _chunks(conn: sa.Connection, target: BlobRange) -> Generator[Chunk, None, None]:
    """Stored documents, or for an aggregated dataset the rows computed from them (always
    the whole scope: its rows have no ids to cut ranges by)."""
    if target.scope.dataset.aggregated:
        if target.ids is not None:
            raise ValueError("an aggregated export is written whole, not by id range")
        return aggregated_rows.stream_chunks(conn, target.scope, blob_rows=target.blob_rows)
    return export_rows.stream_chunks(conn, target.scope, blob_rows=target.blob_rows, ids=target.ids)


def exported(written: Iterable[WrittenBlob]) -> list[ExportBlob]:
    """What a manifest records of written blobs."""
    return [ExportBlob(w.name, w.rows, w.size) for w in written]


def remove_blobs(store: BlobStore, root: str, blobs: Iterable[ExportBlob]) -> None:
    """Delete published blobs that never made it into a committed manifest."""
    for blob in blobs:
        store.delete_prefix(f"{root}/{blob.name}")
