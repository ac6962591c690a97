"""Blob store behaviour, once for every backend: the local directory and Azure Blob Storage.

Staging and publishing, discarding a crashed export's staging, byte ranges, prefix deletes,
size and ETag, and the download location handed to clients.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from billport.blobs import sas
from billport.blobs.azure import AzureBlobStore, open_azure_store
from billport.blobs.base import BlobStore
from billport.blobs.factory import open_blob_store
from billport.blobs.local import STAGING, LocalBlobStore
from billport.errors import ConfigurationError, NotFound
from billport.settings import load_settings
from tests.support.azurite import (
    ACCOUNT,
    ACCOUNT_KEY,
    Azurite,
    BlobBackend,
    azure_overrides,
    free_port,
)
from tests.support.blob_checks import check_delete_prefix, leftovers

SAS_KEY = b"k" * 32
BLOCK = 1024  # small Azure blocks, so a few KB already span several
ROOT = "billedreconfastpath/v1/PartnerTenantId=t1/BillingMonth=202610/Fragment=full"


@pytest.fixture
def store(blob_backend: BlobBackend, tmp_path: Path) -> BlobStore:
    settings = load_settings(environ={}, data_dir=tmp_path / "data", **blob_backend.overrides)
    if blob_backend.name == "azure":
        return open_azure_store(settings, sas_key=SAS_KEY, block_size=BLOCK)  # type: ignore[return-value]
    return open_blob_store(settings, SAS_KEY)


def payload(size: int, seed: int = 0) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(size))


def write(store: BlobStore, key: str, path: str, data: bytes, *, publish: bool = True) -> None:
    staged = store.stage(key, path)
    for start in range(0, len(data), 700):  # uneven writes across block boundaries
        staged.stream.write(data[start : start + 700])
    assert staged.close() == len(data)
    if publish:
        store.publish(staged)


def read_all(store: BlobStore, path: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(path, start, end))


def test_a_staged_part_is_invisible_until_published(store: BlobStore) -> None:
    data = payload(5000)
    staged = store.stage("op-1", f"{ROOT}/part-00000.json.gz")
    staged.stream.write(data[:3000])
    staged.stream.write(data[3000:])
    assert store.info(f"{ROOT}/part-00000.json.gz") is None
    assert staged.close() == 5000
    assert store.info(f"{ROOT}/part-00000.json.gz") is None
    with pytest.raises(NotFound):
        read_all(store, f"{ROOT}/part-00000.json.gz")
    store.publish(staged)
    info = store.info(f"{ROOT}/part-00000.json.gz")
    assert info is not None and info.size == 5000
    assert read_all(store, f"{ROOT}/part-00000.json.gz") == data
    store.discard_staging("op-1")  # the runner's clean-up after publishing keeps the part
    assert read_all(store, f"{ROOT}/part-00000.json.gz") == data
    assert leftovers(store) == []


def test_an_empty_part_publishes_as_an_empty_blob(store: BlobStore) -> None:
    write(store, "op-1", f"{ROOT}/empty.json.gz", b"")
    info = store.info(f"{ROOT}/empty.json.gz")
    assert info is not None and info.size == 0
    assert read_all(store, f"{ROOT}/empty.json.gz") == b""


def test_discarding_staging_removes_what_a_crashed_export_left(store: BlobStore) -> None:
    write(store, "op-1", f"{ROOT}/kept.json.gz", payload(2000))
    write(store, "op-1", f"{ROOT}/closed.json.gz", payload(3000), publish=False)
    crashed = store.stage("op-1", f"{ROOT}/crashed.json.gz")  # never closed: the process died
    crashed.stream.write(payload(2500))
    write(store, "op-2", f"{ROOT}/other.json.gz", payload(100), publish=False)
    crashed.stream.close()  # the dead process's handle; nothing more is written
    assert leftovers(store) != []
    store.discard_staging("op-1")
    store.discard_staging("op-unknown")  # nothing staged: a no-op
    assert read_all(store, f"{ROOT}/kept.json.gz") == payload(2000)
    for name in ("closed", "crashed"):
        assert store.info(f"{ROOT}/{name}.json.gz") is None
    store.discard_staging("op-2")
    assert leftovers(store) == []


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, slice(0, None)),
        (0, 0, slice(0, 1)),
        (1000, 1999, slice(1000, 2000)),
        (1023, 1025, slice(1023, 1026)),
        (9990, None, slice(9990, None)),
        (9990, 20_000, slice(9990, None)),
        (10_000, None, slice(10_000, None)),
    ],
)
def test_ranges(store: BlobStore, start: int, end: int | None, expected: slice) -> None:
    data = payload(10_000)
    write(store, "op-1", f"{ROOT}/part.json.gz", data)
    assert read_all(store, f"{ROOT}/part.json.gz", start, end) == data[expected]


def test_size_etag_and_modification_time(store: BlobStore) -> None:
    path = f"{ROOT}/part.json.gz"
    assert store.info(path) is None
    write(store, "op-1", path, payload(1500))
    first = store.info(path)
    assert first is not None
    assert first.path == path and first.size == 1500
    assert first.etag.startswith('"') and first.etag.endswith('"') and len(first.etag) > 2
    assert store.info(path) == first  # stable while unchanged
    assert first.last_modified.tzinfo is not None
    assert abs((datetime.now(UTC) - first.last_modified).total_seconds()) < 600
    write(store, "op-2", path, payload(1700, seed=3))
    second = store.info(path)
    assert second is not None and second.size == 1700 and second.etag != first.etag
    assert store.info(ROOT) is None  # a directory is not a blob


@pytest.mark.parametrize("path", [f"{STAGING}/op-1/x", f"{ROOT}/../{ROOT}/part.json.gz", "", "/"])
def test_staging_and_relative_paths_are_never_served(store: BlobStore, path: str) -> None:
    write(store, "op-1", f"{ROOT}/part.json.gz", payload(10))
    assert store.info(path) is None
    with pytest.raises(NotFound):
        read_all(store, path)


def test_delete_prefix(store: BlobStore) -> None:
    check_delete_prefix(store)
    assert store.info("a/bc/3") is None and store.info("a/b/5") is None


def test_list_blobs(store: BlobStore) -> None:
    for name, size in (("a/b/2", 20), ("a/b/1", 10), ("a/bc/3", 30), ("z/4", 40)):
        write(store, "op-1", name, payload(size))
    staged = store.stage("op-2", "a/b/5")
    staged.stream.write(b"still staging")
    staged.close()
    listed = list(store.list_blobs("a/b/"))
    assert [(b.path, b.size) for b in listed] == [("a/b/1", 10), ("a/b/2", 20)]  # sorted
    assert listed[0] == store.info("a/b/1")  # the same size, ETag and time as a read sees
    assert [b.path for b in store.list_blobs("a/b")] == ["a/b/1", "a/b/2", "a/bc/3"]
    assert [b.path for b in store.list_blobs("a/b/2")] == ["a/b/2"]
    assert [b.path for b in store.list_blobs("")] == ["a/b/1", "a/b/2", "a/bc/3", "z/4"]
    assert list(store.list_blobs("nothing/")) == []
    assert list(store.list_blobs(f"{STAGING}/")) == []
    assert list(store.list_blobs("a/../z/")) == []
    store.publish(staged)
    assert [b.path for b in store.list_blobs("a/b/")] == ["a/b/1", "a/b/2", "a/b/5"]


def test_download_location_points_at_the_root_with_a_read_token(store: BlobStore) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    location = store.download_location(
        ROOT, base_url="http://billport.test/", now=now, lifetime=900
    )
    assert location.root_directory.endswith(f"/{ROOT}")
    query = dict(parse_qsl(location.sas_token, strict_parsing=True))
    assert not location.sas_token.startswith("?")
    assert "r" in query["sp"] and "w" not in query["sp"] and "d" not in query["sp"]
    expiry = datetime.strptime(query["se"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expiry == now + timedelta(seconds=900)  # from the injected clock, not the wall
    # Azure too, by default: billport's route and its directory-scoped SAS
    assert location.root_directory == f"http://billport.test/blobs/{ROOT}"
    sas.verify(SAS_KEY, f"{ROOT}/part.json.gz", query, now=now)
    if isinstance(store, AzureBlobStore):
        store.direct_downloads = True  # BILLPORT_AZURE_DIRECT_DOWNLOADS
        direct = store.download_location(
            ROOT, base_url="http://billport.test/", now=now, lifetime=9
        )
        assert direct.root_directory == f"{store.container.url}/{ROOT}"
        query = dict(parse_qsl(direct.sas_token, strict_parsing=True))
        assert query["sr"] == "c" and query["sp"] == "r"  # read only; no list, no write


@pytest.mark.azure
def test_an_azure_part_is_uploaded_while_it_is_written(azurite: Azurite) -> None:
    """Memory stays bounded: blocks go up as the writer fills them, not at close."""
    settings = load_settings(environ={}, **azure_overrides(azurite))
    store = open_azure_store(settings, block_size=BLOCK)
    staged = store.stage("op-1", f"{ROOT}/big.json.gz")
    staged.stream.write(payload(5 * BLOCK + 10))
    blob = store.container.get_blob_client(f"{ROOT}/big.json.gz")
    _, uncommitted = blob.get_block_list("uncommitted")
    assert len(uncommitted) >= 3  # five full blocks sent, at most two still in flight
    assert staged.close() == 5 * BLOCK + 10
    store.publish(staged)
    assert read_all(store, f"{ROOT}/big.json.gz") == payload(5 * BLOCK + 10)
    _, uncommitted = blob.get_block_list("uncommitted")
    assert uncommitted == []


def test_the_factory_opens_the_configured_backend(
    blob_backend: BlobBackend, tmp_path: Path
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, **blob_backend.overrides)
    opened = open_blob_store(settings, SAS_KEY)
    if blob_backend.name == "azure":
        assert isinstance(opened, AzureBlobStore)
        assert opened.container.container_name == settings.azure_container
        assert opened.container.exists()  # created when missing
        assert not (tmp_path / "blobs").exists()
    else:
        assert isinstance(opened, LocalBlobStore)
        assert opened.root == tmp_path / "blobs"


def test_unreachable_storage_stops_start_up_at_once() -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/{ACCOUNT}"
    settings = load_settings(
        environ={},
        blob_backend="azure",
        azure_connection_string=f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={url};",
    )
    with pytest.raises(
        ConfigurationError, match=f"cannot use the Azure container 'billport' at {url}"
    ):
        open_blob_store(settings, SAS_KEY)
