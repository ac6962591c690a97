"""The in-memory blob store keeps the BlobStore promises the disk and Azure stores keep."""

from __future__ import annotations

import pickle
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from billport.blobs import sas
from billport.blobs.base import BlobStore
from billport.blobs.memory import READ_CHUNK, MemoryBlobStore, MemoryStagedBlob
from billport.errors import NotFound
from tests.support.blob_checks import check_delete_prefix

KEY = b"k" * 32
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ROOT = "billedreconfastpath/v1/PartnerTenantId=t1/BillingMonth=202610/Fragment=full"


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore(KEY, clock=lambda: NOW)


def payload(size: int, seed: int = 0) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(size))


def write(store: MemoryBlobStore, key: str, path: str, data: bytes, publish: bool = True) -> None:
    staged = store.stage(key, path)
    for start in range(0, len(data), 700):
        staged.stream.write(data[start : start + 700])
    assert staged.close() == len(data)
    if publish:
        store.publish(staged)


def read_all(store: MemoryBlobStore, path: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(path, start, end))


def test_it_is_a_blob_store() -> None:
    typed: BlobStore = MemoryBlobStore()  # mypy checks the protocol here
    assert isinstance(typed.stage("k", "a/b"), MemoryStagedBlob)


def test_a_staged_blob_is_invisible_until_published(store: MemoryBlobStore) -> None:
    path = f"{ROOT}/part-00000.json.gz"
    staged = store.stage("op-1", path)
    staged.stream.write(b"abc")
    staged.stream.write(b"def")
    assert store.info(path) is None
    assert staged.close() == 6
    assert store.info(path) is None
    with pytest.raises(NotFound):
        read_all(store, path)
    assert store.delete_prefix("") == 0  # nothing published to delete
    assert store.staged_paths("op-1") == [path] and store.published_paths() == []
    store.publish(staged)
    assert read_all(store, path) == b"abcdef"
    assert store.staged_paths() == [] and store.published_paths() == [path]
    store.discard_staging("op-1")  # clean-up after publishing keeps the blob
    assert read_all(store, path) == b"abcdef"


def test_publish_refuses_open_foreign_and_discarded_blobs(store: MemoryBlobStore) -> None:
    staged = store.stage("op-1", "a/open")
    staged.stream.write(b"x")
    with pytest.raises(ValueError, match="closed"):
        store.publish(staged)
    other = MemoryBlobStore().stage("op-1", "a/foreign")
    other.close()
    with pytest.raises(TypeError, match="this store"):
        store.publish(other)
    staged.close()
    store.discard_staging("op-1")
    with pytest.raises(NotFound, match="no longer staged"):
        store.publish(staged)
    assert store.info("a/open") is None and store.info("a/foreign") is None


def test_publishing_twice_is_refused(store: MemoryBlobStore) -> None:
    staged = store.stage("op-1", "a/b")
    staged.close()
    store.publish(staged)
    with pytest.raises(NotFound):
        store.publish(staged)


def test_a_stream_closed_by_its_writer_keeps_its_bytes(store: MemoryBlobStore) -> None:
    staged = store.stage("op-1", "a/b")
    staged.stream.write(b"written")
    staged.stream.close()  # as a dying writer's handle would be
    assert staged.close() == 7
    store.publish(staged)
    assert read_all(store, "a/b") == b"written"


def test_discard_staging_forgets_one_key_only(store: MemoryBlobStore) -> None:
    write(store, "op-1", f"{ROOT}/kept", payload(20))
    write(store, "op-1", f"{ROOT}/closed", payload(30), publish=False)
    crashed = store.stage("op-1", f"{ROOT}/crashed")  # never closed
    crashed.stream.write(payload(25))
    write(store, "op-2", f"{ROOT}/other", payload(10), publish=False)
    store.discard_staging("op-1")
    store.discard_staging("op-unknown")  # nothing staged: a no-op
    assert store.staged_paths() == [f"{ROOT}/other"]
    assert store.published_paths() == [f"{ROOT}/kept"]
    assert read_all(store, f"{ROOT}/kept") == payload(20)


def test_republishing_replaces_the_blob_with_a_new_etag(store: MemoryBlobStore) -> None:
    path = f"{ROOT}/part"
    write(store, "op-1", path, payload(1500))
    first = store.info(path)
    assert first is not None
    assert (first.path, first.size, first.last_modified) == (path, 1500, NOW)
    assert first.etag.startswith('"') and first.etag.endswith('"') and len(first.etag) > 2
    assert store.info(path) == first  # stable while unchanged
    write(store, "op-2", path, payload(1700, seed=3))
    second = store.info(path)
    assert second is not None and second.size == 1700 and second.etag != first.etag
    assert read_all(store, path) == payload(1700, seed=3)
    assert store.info(ROOT) is None  # a directory is not a blob


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, slice(0, None)),
        (0, 0, slice(0, 1)),
        (1000, 1999, slice(1000, 2000)),
        (READ_CHUNK - 1, READ_CHUNK + 1, slice(READ_CHUNK - 1, READ_CHUNK + 2)),
        (2 * READ_CHUNK, None, slice(2 * READ_CHUNK, None)),
        (3 * READ_CHUNK - 10, 10 * READ_CHUNK, slice(3 * READ_CHUNK - 10, None)),
        (3 * READ_CHUNK, None, slice(3 * READ_CHUNK, None)),
    ],
)
def test_ranges(store: MemoryBlobStore, start: int, end: int | None, expected: slice) -> None:
    data = payload(3 * READ_CHUNK)
    write(store, "op-1", "a/part", data)
    assert read_all(store, "a/part", start, end) == data[expected]
    assert all(len(piece) <= READ_CHUNK for piece in store.read("a/part", start, end))


@pytest.mark.parametrize("path", ["_staging/op-1/x", "a/../a/part", "a/./part", "", "/"])
def test_staging_and_relative_paths_are_never_served(store: MemoryBlobStore, path: str) -> None:
    write(store, "op-1", "a/part", b"secret")
    assert store.info(path) is None
    with pytest.raises(NotFound):
        read_all(store, path)
    with pytest.raises(NotFound):
        store.stage("op-1", path)


def test_paths_are_normalised_like_the_other_stores(store: MemoryBlobStore) -> None:
    write(store, "op-1", "/a//b/c", b"x")
    assert store.published_paths() == ["a/b/c"]
    assert read_all(store, "a/b/c") == read_all(store, "/a/b//c/") == b"x"


def test_delete_prefix(store: MemoryBlobStore) -> None:
    check_delete_prefix(store)
    assert store.published_paths() == []


def test_download_location_is_billports_route_with_a_read_token(store: MemoryBlobStore) -> None:
    location = store.download_location(ROOT, base_url="http://billport.test/", now=NOW, lifetime=9)
    assert location.root_directory == f"http://billport.test/blobs/{ROOT}"
    query = dict(parse_qsl(location.sas_token, strict_parsing=True))
    assert query["se"] == "2026-11-21T12:00:09Z"
    sas.verify(KEY, f"{ROOT}/part.json.gz", query, now=NOW)
    with pytest.raises(sas.SasDenied):
        sas.verify(KEY, f"{ROOT}/part.json.gz", query, now=NOW + timedelta(seconds=10))


def test_staged_blobs_do_not_cross_processes(store: MemoryBlobStore) -> None:
    staged = store.stage("op-1", "a/b")
    staged.close()
    with pytest.raises(TypeError, match="another process"):
        pickle.dumps(staged)


def test_writers_on_many_threads_lose_nothing(store: MemoryBlobStore) -> None:
    def writer(n: int) -> None:
        for i in range(50):
            key = f"op-{n}"
            write(store, key, f"t{n}/blob-{i}", f"{n}:{i}".encode(), publish=i % 2 == 0)
            if i == 49:
                store.discard_staging(key)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paths = store.published_paths()
    assert len(paths) == 8 * 25 and store.staged_paths() == []
    assert all(
        read_all(store, f"t{n}/blob-{i}") == f"{n}:{i}".encode()
        for n in range(8)
        for i in range(0, 50, 2)
    )
