"""The block stream behind Azure uploads: fixed-size blocks, bounded uploads in flight."""

from __future__ import annotations

import threading
import time

import pytest

from billport.blobs.azure_blocks import BlockStream, block_id


class Recorder:
    """An ``upload(block_id, data, length=...)`` that remembers and can be slow or fail."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.blocks: dict[str, bytes] = {}
        self.delay, self.fail_at = delay, fail_at
        self.active = self.most_active = 0
        self.lock = threading.Lock()

    def __call__(self, ident: str, data: bytes, length: int) -> None:
        assert length == len(data)
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay)
            if self.fail_at is not None and ident == block_id(self.fail_at):
                raise OSError("storage unreachable")
            with self.lock:
                self.blocks[ident] = data
        finally:
            with self.lock:
                self.active -= 1


def test_writes_become_fixed_size_blocks_in_order() -> None:
    upload = Recorder()
    stream = BlockStream(upload, block_size=10, in_flight=2)
    for piece in (b"abc", b"defghijklmnop", b"", b"qrstuvwxyz0123456789", b"!"):
        assert stream.write(piece) == len(piece)
    assert stream.finish() == 37
    assert stream.block_ids == [block_id(i) for i in range(4)]
    assert len({len(i) for i in stream.block_ids}) == 1  # Azure needs equal-length ids
    assert [upload.blocks[i] for i in stream.block_ids] == [
        b"abcdefghij",
        b"klmnopqrst",
        b"uvwxyz0123",
        b"456789!",
    ]
    assert stream.finish() == 37  # idempotent
    with pytest.raises(ValueError):
        stream.write(b"late")


def test_an_empty_stream_uploads_nothing() -> None:
    upload = Recorder()
    stream = BlockStream(upload, block_size=10)
    assert stream.finish() == 0
    assert stream.block_ids == [] and upload.blocks == {}


def test_uploads_in_flight_are_bounded() -> None:
    upload = Recorder(delay=0.02)
    stream = BlockStream(upload, block_size=4, in_flight=2)
    stream.write(bytes(4 * 12))
    assert len(stream._pending) <= 2  # the writer waited rather than queueing everything
    stream.finish()
    assert upload.most_active <= 2
    assert len(upload.blocks) == 12


def test_a_failed_upload_reaches_the_writer_once() -> None:
    upload = Recorder(fail_at=1)
    stream = BlockStream(upload, block_size=2, in_flight=1)
    with pytest.raises(OSError, match="storage unreachable"):
        stream.write(bytes(2 * 6))
    stream.finish()  # the writer's abort path closes the part: no second raise
    assert stream.closed


def test_a_failure_surfacing_at_finish_is_raised() -> None:
    upload = Recorder(fail_at=0)
    stream = BlockStream(upload, block_size=100, in_flight=2)
    stream.write(b"short tail")
    with pytest.raises(OSError):
        stream.finish()
    assert stream.closed


def test_close_abandons_without_sending_the_tail() -> None:
    upload = Recorder()
    stream = BlockStream(upload, block_size=4, in_flight=2)
    stream.write(b"12345678ta")  # "ta": a partial block
    stream.close()
    assert stream.closed
    assert sorted(upload.blocks.values()) == [b"1234", b"5678"]


@pytest.mark.parametrize(("size", "flight"), [(0, 1), (1, 0)])
def test_sizes_must_be_positive(size: int, flight: int) -> None:
    with pytest.raises(ValueError):
        BlockStream(Recorder(), block_size=size, in_flight=flight)
