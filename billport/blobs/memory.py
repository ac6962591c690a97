"""Blobs in process memory: the store unit tests give the export writer instead of a disk.

It keeps the promises of :class:`billport.blobs.base.BlobStore` the way the local and Azure
stores do: a staged blob is invisible to ``info``, ``read`` and ``delete_prefix`` until
``publish`` moves it into place; ``discard_staging`` forgets what a key staged (published
blobs stay); paths with ``.``, ``..`` or ``_staging`` segments are never served. Downloads
point at billport's own ``/blobs/`` route with an HMAC SAS, as the local store's do.

One lock guards the store's maps, so writers on several threads (the export writer's
compressor thread, the job's heartbeat) may share it. A staged blob's stream belongs to the
one thread that writes it. Nothing leaves the process: staged blobs do not pickle, so the
store cannot back export processes.
"""

from __future__ import annotations

import io
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from billport.blobs import sas
from billport.blobs.base import BlobInfo, DownloadLocation, StagedBlob, blob_segments
from billport.errors import NotFound

ROUTE_PREFIX = "blobs"  # downloads go through billport's ``/blobs/`` route, like local ones
READ_CHUNK = 1 << 16  # read() yields in pieces, like the other stores, so callers loop


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class _Buffer(io.BytesIO):
    """A BytesIO that keeps its bytes when closed: a closed file's content stays on disk too."""

    kept: bytes = b""

    def close(self) -> None:
        if not self.closed:
            self.kept = self.getvalue()
        super().close()


class MemoryStagedBlob:
    """A blob being written into memory; invisible until :meth:`MemoryBlobStore.publish`."""

    def __init__(self, store: MemoryBlobStore, staging_key: str, final_path: str) -> None:
        self.store = store
        self.staging_key = staging_key
        self.final_path = final_path
        self.ident = uuid.uuid4().hex
        self.size = 0
        self._buffer = _Buffer()

    @property
    def stream(self) -> BinaryIO:
        return self._buffer

    @property
    def closed(self) -> bool:
        return self._buffer.closed

    @property
    def data(self) -> bytes:
        """What was written so far (all of it once closed)."""
        return self._buffer.kept if self._buffer.closed else self._buffer.getvalue()

    def close(self) -> int:
        self._buffer.close()
        self.size = len(self._buffer.kept)
        return self.size

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a blob staged in memory cannot be handed to another process")


@dataclass(frozen=True)
class _Stored:
    data: bytes
    etag: str
    last_modified: datetime


class MemoryBlobStore:
    """Published blobs and staging areas as dictionaries; see the module docstring."""

    def __init__(
        self, sas_key: bytes = b"memory-store-sas-key", clock: Callable[[], datetime] = _wall_clock
    ) -> None:
        self.sas_key = sas_key
        self.clock = clock  # stamps ``last_modified`` on publish
        self._lock = threading.Lock()
        self._published: dict[str, _Stored] = {}
        self._staging: dict[str, dict[str, MemoryStagedBlob]] = {}
        self._versions = itertools.count(1)

    @staticmethod
    def _name(path: str) -> str:
        """A blob name from a billport path (see ``base.blob_segments``)."""
        return "/".join(blob_segments(path))

    def stage(self, staging_key: str, final_path: str) -> MemoryStagedBlob:
        staged = MemoryStagedBlob(self, staging_key, self._name(final_path))
        with self._lock:
            self._staging.setdefault(staging_key, {})[staged.ident] = staged
        return staged

    def publish(self, staged: StagedBlob) -> None:
        if not isinstance(staged, MemoryStagedBlob) or staged.store is not self:
            raise TypeError("publish() takes a blob staged by this store")
        if not staged.closed:
            raise ValueError("only a closed staged blob can be published")
        with self._lock:
            area = self._staging.get(staged.staging_key, {})
            if area.pop(staged.ident, None) is None:
                raise NotFound(f"{staged.final_path} is no longer staged (discarded or published)")
            if not area:
                self._staging.pop(staged.staging_key, None)
            version = next(self._versions)
            self._published[staged.final_path] = _Stored(
                data=staged.data,
                etag=f'"0x{version:016X}"',
                last_modified=self.clock().replace(microsecond=0),
            )

    def discard_staging(self, staging_key: str) -> None:
        with self._lock:
            self._staging.pop(staging_key, None)

    def info(self, path: str) -> BlobInfo | None:
        try:
            name = self._name(path)
        except NotFound:
            return None
        with self._lock:
            stored = self._published.get(name)
        if stored is None:
            return None
        return BlobInfo(
            path=path, size=len(stored.data), etag=stored.etag, last_modified=stored.last_modified
        )

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        name = self._name(path)
        with self._lock:
            stored = self._published.get(name)
        if stored is None:
            raise NotFound("The specified blob does not exist.")
        stop = len(stored.data) if end is None else min(end + 1, len(stored.data))
        for offset in range(start, stop, READ_CHUNK):
            yield stored.data[offset : min(offset + READ_CHUNK, stop)]

    def delete_prefix(self, prefix: str) -> int:
        base = self._name(prefix) if prefix.strip("/") else ""
        with self._lock:
            doomed = [
                name
                for name in self._published
                if not base or name == base or name.startswith(base + "/")
            ]
            for name in doomed:
                del self._published[name]
        return len(doomed)

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        with self._lock:
            names = sorted(n for n in self._published if n.startswith(prefix.lstrip("/")))
        for name in names:
            info = self.info(name)  # None if deleted meanwhile
            if info is not None:
                yield info

    def download_location(
        self, root_path: str, *, base_url: str, now: datetime, lifetime: int
    ) -> DownloadLocation:
        token = sas.mint(self.sas_key, root_path, now=now, lifetime=lifetime)
        return DownloadLocation(f"{base_url.rstrip('/')}/{ROUTE_PREFIX}/{root_path}", token)

    def published_paths(self) -> list[str]:
        """Every published blob's path, sorted (what a test checks was, or was not, published)."""
        with self._lock:
            return sorted(self._published)

    def staged_paths(self, staging_key: str | None = None) -> list[str]:
        """Final paths of the blobs staged under ``staging_key`` (every key if None), sorted."""
        with self._lock:
            areas = (
                list(self._staging.values())
                if staging_key is None
                else [self._staging.get(staging_key, {})]
            )
            return sorted(blob.final_path for area in areas for blob in area.values())
