"""Parsing a one-column PostgreSQL binary COPY stream, whatever its chunking."""

from __future__ import annotations

import struct

import pytest

from billport.store.exports import COPY_SIGNATURE, copy_binary_values

VALUES = [b'{"a":1}', b"", b"x" * 70_000, "é€".encode(), b"\xff\xff\x00"]


def stream(values: list[bytes], extension: bytes = b"") -> bytes:
    head = COPY_SIGNATURE + struct.pack(">ii", 0, len(extension)) + extension
    rows = b"".join(struct.pack(">hi", 1, len(v)) + v for v in values)
    return head + rows + struct.pack(">h", -1)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 5, 7, 19, 4096, 1 << 20])
def test_values_come_back_in_order_whatever_the_chunking(size: int) -> None:
    batches = list(copy_binary_values(chunked(stream(VALUES, b"ext"), size), batch_rows=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [v for b in batches for v in b] == VALUES


def test_an_empty_result_yields_nothing() -> None:
    assert list(copy_binary_values([stream([])], batch_rows=10)) == []


def test_a_truncated_stream_is_an_error() -> None:
    data = stream(VALUES)
    with pytest.raises(ValueError, match="trailer"):
        list(copy_binary_values(chunked(data[:-40], 100), batch_rows=10))


def test_a_foreign_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="binary COPY"):
        list(copy_binary_values([b"id,doc\n1,{}\n" * 3], batch_rows=10))


def test_a_null_or_second_column_is_refused() -> None:
    head = COPY_SIGNATURE + struct.pack(">ii", 0, 0)
    with pytest.raises(ValueError, match="unexpected COPY row"):
        list(copy_binary_values([head + struct.pack(">hi", 1, -1)], batch_rows=10))
