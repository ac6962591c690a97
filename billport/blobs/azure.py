"""Blobs in Azure Blob Storage: parts streamed up as block blobs, downloads straight from storage.

All blobs live in one container; a blob's name is its billport path. A part is written by
staging blocks of ``block_size`` bytes on its *final* name as the writer's stream fills, and
committed with one Put Block List on publish. Uncommitted blocks are invisible to every read
and list, so an unpublished part never appears.

Staging markers find what a crashed export left: staging a part also writes a small blob
``_staging/<staging key>/<random>`` whose content is the part's final name. Publish commits
the part and then deletes its marker; :meth:`AzureBlobStore.discard_staging` follows every
marker left under a key, purges its part (a Put Blob drops the uncommitted blocks at once,
then the blob is deleted) and deletes the marker. Paths under ``_staging/`` are never served.

Downloads, by default, go through billport's own ``/blobs`` route, as on the local backend:
``rootDirectory`` is ``{billport}/blobs/{root path}`` and ``sasToken`` billport's
directory-scoped SAS (``sr=d``, ``sdd``, as the real service's), so a manifest's token reads
that manifest's directory and nothing else; the route streams the blob from the container.
Azure's own directory SAS needs a hierarchical namespace (Azurite has none, and it accepts
only ``sr=c``/``b``/``bs``), and a per-blob SAS (``sr=b``) cannot be the one ``sasToken``
that ``{rootDirectory}/{name}?{sasToken}`` needs for every blob of a manifest.

With ``BILLPORT_AZURE_DIRECT_DOWNLOADS`` clients download straight from storage instead (the
valet-key pattern): ``rootDirectory`` is ``{account url}/{container}/{root path}`` and
``sasToken`` a read-only container SAS minted with the account key. That token reads *any*
blob of the container whose name its holder knows, another tenant's included; only the
random part names stand between tenants, so it is for single-tenant use.
Both expire ``lifetime`` seconds after the injected clock's ``now``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobBlock,
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    ContentSettings,
    ExponentialRetry,
    generate_container_sas,
)

from billport.blobs import sas
from billport.blobs.azure_blocks import BlockStream
from billport.blobs.base import STAGING, BlobInfo, DownloadLocation, StagedBlob, blob_segments
from billport.blobs.local import ROUTE_PREFIX
from billport.errors import ConfigurationError, NotFound, StorageUnavailable, StoreError
from billport.settings import Settings

BLOCK_SIZE = 4 << 20  # bytes per staged block; memory per part is a few blocks
UPLOADS_IN_FLIGHT = 2  # blocks uploaded while the next one fills
PART_CONTENT = ContentSettings(content_type="application/octet-stream")
# The SDK's default backs off 15 s, 18 s, 24 s…: longer than a job lease. Retry a transient
# fault within seconds instead; a longer outage fails the attempt and the job is retried.
RETRY: dict[str, Any] = {"initial_backoff": 1, "increment_base": 2, "retry_total": 4}
# The SDK logs every request at INFO; a worker logging at INFO would print one line per block.
SDK_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


class AzureStagedBlob:
    """A part being uploaded as blocks on its final name; invisible until committed."""

    def __init__(self, stream: BlockStream, final_path: str, marker: str) -> None:
        self._stream = stream
        self.final_path = final_path
        self.marker = marker
        self.size = 0

    @property
    def stream(self) -> BinaryIO:
        return cast(BinaryIO, self._stream)

    def close(self) -> int:
        self.size = self._stream.finish()
        return self.size

    @property
    def block_ids(self) -> list[str]:
        return self._stream.block_ids

    def __getstate__(self) -> dict[str, object]:
        """A closed staged blob pickles: an export process stages it, the worker publishes it."""
        if not self._stream.closed:
            raise TypeError("only a closed staged blob can be handed to another process")
        return {
            "final_path": self.final_path,
            "marker": self.marker,
            "size": self.size,
            "block_ids": list(self.block_ids),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        stream = BlockStream(_no_upload, 1)
        stream.block_ids = list(state.pop("block_ids"))
        stream.size = state["size"]
        stream.close()  # finished, like the original: only its block list is left to commit
        self.__dict__.update(state)
        self._stream = stream


@contextmanager
def _translated() -> Iterator[None]:
    """Azure SDK errors become billport's where they enter: no connection or a 5xx/503 is
    :class:`StorageUnavailable` (retry later), any other refusal a :class:`StoreError`."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailable("Blob storage is unavailable; retry later.") from exc
    except HttpResponseError as exc:
        if exc.status_code is not None and exc.status_code >= 500:
            raise StorageUnavailable("Blob storage is unavailable; retry later.") from exc
        raise StoreError(f"Blob storage refused the request ({exc.status_code}).") from exc
    except AzureError as exc:
        raise StoreError(f"Blob storage failed ({type(exc).__name__}).") from exc


def _no_upload(*_args: Any, **_kwargs: Any) -> None:
    raise ValueError("a staged blob from another process takes no more blocks")


class AzureBlobStore:
    """One container of a storage account; see the module docstring for the layout."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        account_name: str,
        account_key: str,
        block_size: int = BLOCK_SIZE,
        sas_key: bytes | None = None,
        direct_downloads: bool = False,
    ) -> None:
        self.container = container
        self.account_name = account_name
        self.account_key = account_key
        self.block_size = block_size
        self.sas_key = sas_key  # billport's own SAS key, for downloads through its route
        self.direct_downloads = direct_downloads

    @staticmethod
    def _name(path: str) -> str:
        """A blob name from a billport path (see ``base.blob_segments``)."""
        return "/".join(blob_segments(path))

    def stage(self, staging_key: str, final_path: str) -> AzureStagedBlob:
        with _translated():
            name = self._name(final_path)
            marker = f"{STAGING}/{staging_key}/{uuid.uuid4().hex}"
            # The marker first: a crash at any later point leaves something discard can follow.
            self.container.upload_blob(marker, name.encode("utf-8"), overwrite=True)
            blob = self.container.get_blob_client(name)
            stream = BlockStream(blob.stage_block, self.block_size, UPLOADS_IN_FLIGHT)
            return AzureStagedBlob(stream, name, marker)

    def publish(self, staged: StagedBlob) -> None:
        with _translated():
            if not isinstance(staged, AzureStagedBlob):
                raise TypeError("publish() takes a blob staged by this store")
            blocks = [BlobBlock(block_id=ident) for ident in staged.block_ids]
            blob = self.container.get_blob_client(staged.final_path)
            blob.commit_block_list(blocks, content_settings=PART_CONTENT)
            # Published: dropping the marker takes the part out of discard_staging's reach.
            self._delete_quietly(staged.marker)

    def discard_staging(self, staging_key: str) -> None:
        with _translated():
            for marker in self.container.list_blobs(name_starts_with=f"{STAGING}/{staging_key}/"):
                try:
                    target = self.container.download_blob(marker.name).readall().decode("utf-8")
                except ResourceNotFoundError:
                    continue  # another worker discarded it meanwhile
                # Put Blob drops the target's uncommitted blocks; the empty blob is then deleted.
                self.container.upload_blob(target, b"", overwrite=True)
                self._delete_quietly(target)
                self._delete_quietly(marker.name)

    def info(self, path: str) -> BlobInfo | None:
        with _translated():
            try:
                props = self.container.get_blob_client(self._name(path)).get_blob_properties()
            except (NotFound, ResourceNotFoundError):
                return None
            return BlobInfo(
                path=path, size=props.size, etag=props.etag, last_modified=props.last_modified
            )

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with _translated():
            blob = self.container.get_blob_client(self._name(path))
            length = None if end is None else end - start + 1
            try:
                size = blob.get_blob_properties().size
                if start >= size or length == 0:
                    return
                if length is not None:
                    length = min(length, size - start)
                yield from blob.download_blob(offset=start, length=length).chunks()
            except ResourceNotFoundError:
                raise NotFound("The specified blob does not exist.") from None

    def delete_prefix(self, prefix: str) -> int:
        with _translated():
            base = self._name(prefix) if prefix.strip("/") else ""
            count = 0
            for blob in self.container.list_blobs(name_starts_with=base or None):
                name = blob.name
                if name.startswith(f"{STAGING}/"):
                    continue
                if base and name != base and not name.startswith(base + "/"):
                    continue  # "a/bc" is not under "a/b"
                if self._delete_quietly(name):
                    count += 1
            return count

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        with _translated():
            for blob in self.container.list_blobs(name_starts_with=prefix.lstrip("/") or None):
                if blob.name.startswith(f"{STAGING}/"):
                    continue  # markers; staged parts are uncommitted, so never listed
                etag = blob.etag if blob.etag.startswith('"') else f'"{blob.etag}"'  # as a GET
                yield BlobInfo(
                    path=blob.name, size=blob.size, etag=etag, last_modified=blob.last_modified
                )

    def download_location(
        self, root_path: str, *, base_url: str, now: datetime, lifetime: int
    ) -> DownloadLocation:
        if not self.direct_downloads:
            if self.sas_key is None:
                raise ConfigurationError("the Azure store needs billport's SAS key for downloads")
            token = sas.mint(self.sas_key, root_path, now=now, lifetime=lifetime)
            return DownloadLocation(f"{base_url.rstrip('/')}/{ROUTE_PREFIX}/{root_path}", token)
        token = generate_container_sas(
            self.account_name,
            self.container.container_name,
            account_key=self.account_key,
            permission=ContainerSasPermissions(read=True),
            expiry=now + timedelta(seconds=lifetime),
        )
        return DownloadLocation(f"{self.container.url}/{root_path.strip('/')}", token)

    def _delete_quietly(self, name: str) -> bool:
        try:
            self.container.delete_blob(name)
        except ResourceNotFoundError:
            return False
        return True


def _service(settings: Settings, **options: Any) -> BlobServiceClient:
    try:
        if settings.azure_connection_string:
            return BlobServiceClient.from_connection_string(
                settings.azure_connection_string, **options
            )
        return BlobServiceClient(
            settings.azure_account_url, credential=settings.azure_account_key, **options
        )
    except ValueError as error:
        raise ConfigurationError(f"invalid Azure Blob Storage settings: {error}") from None


def open_azure_store(
    settings: Settings, *, sas_key: bytes | None = None, block_size: int = BLOCK_SIZE
) -> AzureBlobStore:
    """Connect to the configured account and make sure the container exists; ``sas_key``
    signs the download tokens of billport's route (unless downloads go straight to storage)."""
    sdk_log = logging.getLogger(SDK_HTTP_LOGGER)
    if sdk_log.level == logging.NOTSET:  # leave an explicit logging configuration alone
        sdk_log.setLevel(logging.WARNING)
    service = _service(
        settings, connection_timeout=10, read_timeout=120, retry_policy=ExponentialRetry(**RETRY)
    )
    credential = service.credential
    account_key = getattr(credential, "account_key", None)
    account_name = getattr(credential, "account_name", None) or service.account_name
    if not account_key or not account_name:
        raise ConfigurationError(
            "the Azure Blob Storage settings carry no account name and key: billport signs "
            "the download SAS tokens with the account key, so give AccountName and "
            "AccountKey in the connection string (or an account URL naming the account)"
        )
    container = service.get_container_client(settings.azure_container)
    try:
        container.create_container(retry_total=0)  # start-up: a wrong URL fails at once
    except ResourceExistsError:
        pass
    except AzureError as error:
        raise ConfigurationError(
            f"cannot use the Azure container {settings.azure_container!r} at {service.url}: {error}"
        ) from None
    return AzureBlobStore(
        container,
        account_name=account_name,
        account_key=account_key,
        block_size=block_size,
        sas_key=sas_key,
        direct_downloads=settings.azure_direct_downloads,
    )
