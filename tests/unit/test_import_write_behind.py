"""``billport import`` writes batches in a second thread (usecases/import_reading.py:
write_behind): every batch once and in order, and a failure on either side stops both."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from billport.usecases.import_reading import write_behind


def batches(count: int, fail_at: int | None = None) -> Iterator[list[Any]]:
    for n in range(count):
        if n == fail_at:
            raise ValueError("bad row")
        yield [n]


def test_every_batch_is_written_once_in_order_by_another_thread() -> None:
    written: list[tuple[int, str]] = []
    counted: list[int] = []

    def sink(batch: list[Any]) -> None:
        written.append((batch[0], threading.current_thread().name))

    write_behind(sink, batches(50), counted.append)
    assert [n for n, _ in written] == list(range(50)) and counted == [1] * 50
    assert {name for _, name in written} == {"billport-import-writer"}


def test_a_reading_failure_stops_the_writer_and_is_raised() -> None:
    with pytest.raises(ValueError, match="bad row"):
        write_behind(lambda batch: None, batches(50, fail_at=7), lambda rows: None)
    assert "billport-import-writer" not in {t.name for t in threading.enumerate()}


def test_a_writing_failure_is_raised_in_the_caller() -> None:
    def sink(batch: list[Any]) -> None:
        if batch[0] == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_behind(sink, batches(1000), lambda rows: None)
    assert "billport-import-writer" not in {t.name for t in threading.enumerate()}
