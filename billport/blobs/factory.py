"""Choose the blob backend from settings."""

from __future__ import annotations

from billport.blobs.base import BlobStore
from billport.blobs.local import LocalBlobStore
from billport.errors import ConfigurationError
from billport.settings import Settings


def open_blob_store(settings: Settings, sas_key: bytes) -> BlobStore:
    """The configured store. ``sas_key`` signs the download tokens of billport's route."""
    if settings.blob_backend == "local":
        return LocalBlobStore(settings.blob_dir, sas_key)  # type: ignore[return-value]
    if settings.blob_backend == "azure":
        try:
            from billport.blobs.azure import open_azure_store
        except ImportError as error:  # the SDK is the optional `azure` extra
            raise ConfigurationError(
                "BILLPORT_BLOB_BACKEND=azure needs azure-storage-blob: "
                "pip install 'billport[azure]'"
            ) from error
        return open_azure_store(settings, sas_key=sas_key)
    raise ConfigurationError(f"blob backend {settings.blob_backend!r} is not available")
