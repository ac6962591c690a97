"""Choose the blob backend from settings."""

from __future__ import annotations

from billport.blobs.base import BlobStore
from billport.blobs.local import LocalBlobStore
from billport.errors import ConfigurationError
from billport.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "local":
        return LocalBlobStore(settings.blob_dir)  # type: ignore[return-value]
    raise ConfigurationError(f"blob backend {settings.blob_backend!r} is not available yet")
