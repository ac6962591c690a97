"""The object-storage interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, NamedTuple, Protocol

from billport.errors import NotFound

STAGING = "_staging"  # where every backend keeps unpublished blobs; never served


def blob_segments(path: str) -> list[str]:
    """The segments of a blob path (empty ones dropped); a path that names nothing, walks up
    (``.``/``..``) or reaches into staging is :class:`NotFound`, as Azure would answer."""
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in {".", ".."} or p.startswith(STAGING) for p in parts):
        raise NotFound("The specified blob does not exist.")
    return parts


@dataclass(frozen=True)
class BlobInfo:
    path: str  # "container/dir/.../name", no leading slash
    size: int
    etag: str
    last_modified: datetime


class DownloadLocation(NamedTuple):
    """Where clients download an export's parts from, and the token that lets them."""

    root_directory: str  # absolute URL; a part is ``{root_directory}/{name}?{sas_token}``
    sas_token: str  # query string without the leading ``?``


class StagedBlob(Protocol):
    """A blob being written: invisible until :meth:`BlobStore.publish` moves it into place."""

    @property
    def stream(self) -> BinaryIO: ...

    def close(self) -> int:
        """Finish writing; returns the size in bytes."""
        ...


class BlobStore(Protocol):
    """Where exported parts live. Paths are ``/``-separated, relative to the store root."""

    def stage(self, staging_key: str, final_path: str) -> StagedBlob:
        """Open a new blob for writing under a staging area keyed by ``staging_key``."""
        ...

    def publish(self, staged: StagedBlob) -> None:
        """Atomically make a closed staged blob visible at its final path."""
        ...

    def discard_staging(self, staging_key: str) -> None:
        """Remove everything staged under ``staging_key`` (a crashed or abandoned export)."""
        ...

    def info(self, path: str) -> BlobInfo | None: ...

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive) of a published blob."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every published blob under ``prefix``; returns how many."""
        ...

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Every published blob whose path starts with ``prefix`` (a plain string prefix, as
        Azure's), sorted by path; staging and paths that name nothing yield nothing."""
        ...

    def download_location(
        self, root_path: str, *, base_url: str, now: datetime, lifetime: int
    ) -> DownloadLocation:
        """The manifest's ``rootDirectory`` and a fresh read-only ``sasToken`` for ``root_path``.

        Behind the store because the backend decides who serves downloads: billport's own
        ``/blobs/`` route (local) or the storage account itself (Azure, the valet-key pattern).
        ``base_url`` is billport's public base URL; ``now`` comes from the injected clock.
        """
        ...
