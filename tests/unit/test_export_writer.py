"""write_blobs into the in-memory store: blob cuts, names, gzip content, progress, errors."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Any

import pytest

from billport.blobs.memory import MemoryBlobStore, MemoryStagedBlob
from billport.exports.writer import ExportWriteError, WrittenBlob, write_blobs
from billport.store.export_rows import Chunk

ROOT = "billedreconfastpath/v1/PartnerTenantId=t1/BillingMonth=202610/Fragment=full"
KEY = "op-1"
PART = re.compile(r"part-(\d{5})-[0-9a-f-]{36}\.c000\.json\.gz")


def doc(n: int) -> bytes:
    return b'{"n":%d,"name":"row \\u00e9 %d"}' % (n, n)


def chunk(first: int, rows: int) -> Chunk:
    """Documents ``first..first+rows-1``, joined by newlines as the export read joins them."""
    return Chunk(b"\n".join(doc(n) for n in range(first, first + rows)), rows)


def chunks(*sizes: int) -> list[Chunk]:
    out, first = [], 0
    for size in sizes:
        out.append(chunk(first, size))
        first += size
    return out


def staged(blob: WrittenBlob) -> MemoryStagedBlob:
    assert isinstance(blob.staged, MemoryStagedBlob)
    return blob.staged


def content(blob: WrittenBlob) -> bytes:
    return gzip.decompress(staged(blob).data)


def lines(first: int, rows: int) -> bytes:
    return b"".join(doc(n) + b"\n" for n in range(first, first + rows))


def write(store: MemoryBlobStore, source: list[Chunk], **options: Any) -> list[WrittenBlob]:
    return write_blobs(source, store=store, staging_key=KEY, root=ROOT, **options)


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore()


def test_blobs_are_cut_at_blob_rows_and_hold_every_row_once(store: MemoryBlobStore) -> None:
    # 2+1 | 3 | 1+2 | 2: blobs end exactly where a chunk fills them; the last is short.
    blobs = write(store, chunks(2, 1, 3, 1, 2, 2), blob_rows=3)
    assert [b.rows for b in blobs] == [3, 3, 3, 2]
    assert [content(b) for b in blobs] == [lines(0, 3), lines(3, 3), lines(6, 3), lines(9, 2)]
    assert [b.size for b in blobs] == [len(staged(b).data) for b in blobs]
    assert all(staged(b).data[:2] == b"\x1f\x8b" for b in blobs)


def test_names_are_numbered_from_first_blob_and_unique(store: MemoryBlobStore) -> None:
    blobs = write(store, chunks(2, 2, 2), blob_rows=2, first_blob=7)
    matches = [PART.fullmatch(b.name) for b in blobs]
    assert all(matches), [b.name for b in blobs]
    assert [int(m.group(1)) for m in matches if m] == [7, 8, 9]
    assert len({b.name for b in blobs}) == 3
    assert [staged(b).final_path for b in blobs] == [f"{ROOT}/{b.name}" for b in blobs]


def test_the_writer_stages_and_never_publishes(store: MemoryBlobStore) -> None:
    blobs = write(store, chunks(3, 3, 1), blob_rows=3)
    assert store.published_paths() == []
    assert store.staged_paths(KEY) == sorted(f"{ROOT}/{b.name}" for b in blobs)
    for blob in blobs:  # what the job does with the manifest
        store.publish(blob.staged)
    assert store.staged_paths() == []
    published = [gzip.decompress(b"".join(store.read(f"{ROOT}/{b.name}"))) for b in blobs]
    assert b"".join(published) == lines(0, 7)


def test_given_names_are_used_in_order(store: MemoryBlobStore) -> None:
    names = ["part-00004-a.c000.json.gz", "part-00005-b.c000.json.gz"]
    blobs = write(store, chunks(2, 2, 1), blob_rows=4, first_blob=4, names=names)
    assert [(b.name, b.rows) for b in blobs] == [(names[0], 4), (names[1], 1)]
    assert store.staged_paths(KEY) == [f"{ROOT}/{n}" for n in names]
    assert content(blobs[1]) == lines(4, 1)


def test_more_rows_than_named_blobs_fail(store: MemoryBlobStore) -> None:
    with pytest.raises(ExportWriteError, match=r"more rows than the 1 blob\(s\) named"):
        write(store, chunks(2, 2), blob_rows=2, names=["only-one.json.gz"])
    assert store.published_paths() == []


def test_a_chunk_straddling_a_blob_boundary_fails(store: MemoryBlobStore) -> None:
    with pytest.raises(ExportWriteError, match=r"a chunk straddles blob 1 \(3 rows\)"):
        write(store, chunks(3, 2, 2), blob_rows=3)
    assert store.published_paths() == []


def test_on_batch_gets_running_totals_after_every_chunk(store: MemoryBlobStore) -> None:
    seen: list[int] = []
    source = [chunk(0, 2), Chunk(b"", 0), chunk(2, 1), chunk(3, 3), chunk(6, 1)]
    write(store, source, blob_rows=3, on_batch=seen.append)
    assert seen == [2, 3, 6, 7]  # an empty chunk is skipped: no call, no empty blob


def test_no_rows_write_no_blobs(store: MemoryBlobStore) -> None:
    assert write(store, [], blob_rows=3) == []
    assert write(store, [Chunk(b"", 0)], blob_rows=3) == []
    assert store.staged_paths() == [] and store.published_paths() == []


def test_the_compression_level_changes_the_bytes_not_the_content(store: MemoryBlobStore) -> None:
    source = [Chunk(b"\n".join([doc(1)] * 400), 400)]
    fast, small = write(store, source, blob_rows=400), write(store, source, blob_rows=400, level=3)
    assert content(fast[0]) == content(small[0]) == (doc(1) + b"\n") * 400
    assert small[0].size < fast[0].size


class FailingStore(MemoryBlobStore):
    """Staging the second blob fails, as a full disk or a storage outage would."""

    def stage(self, staging_key: str, final_path: str) -> MemoryStagedBlob:
        if self.staged_paths():
            raise OSError("no space left on device")
        return super().stage(staging_key, final_path)


def test_a_storage_failure_surfaces_as_an_export_write_error() -> None:
    store = FailingStore()
    with pytest.raises(ExportWriteError, match="no space left on device"):
        write(store, chunks(2, 2, 2, 2), blob_rows=2)
    assert store.published_paths() == []


def test_a_failing_read_stops_the_writer_with_its_own_error(store: MemoryBlobStore) -> None:
    def broken() -> Iterator[Chunk]:
        yield chunk(0, 2)
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError, match="went away"):
        write_blobs(broken(), store=store, staging_key=KEY, root=ROOT, blob_rows=3)
    assert store.published_paths() == []
    (half,) = store.staged_paths(KEY)  # closed, left for discard_staging
    store.discard_staging(KEY)
    assert store.staged_paths() == [] and half.startswith(ROOT)
