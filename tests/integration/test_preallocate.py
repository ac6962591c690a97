"""Preallocating a SQLite file ahead of a bulk load: a real file, real seeds, real rollbacks."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from billport.settings import Settings, load_settings
from billport.store import loading, preallocate
from billport.store.db import Database
from billport.store.preallocate import Preallocator
from tests.integration.test_seed import _digest
from tests.support.data import seed_small

pytestmark = pytest.mark.skipif(not preallocate.supported(), reason="needs Linux fallocate")

MB = 1 << 20


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def started_preallocators(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Preallocator]]:
    """Every load preallocates from its first byte, 4 MB ahead; yields those it started."""
    started: list[Preallocator] = []
    original = Preallocator.start

    def start(self: Preallocator) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(preallocate, "START_BYTES", 0)
    monkeypatch.setattr(preallocate, "WINDOW", 4 * MB)
    monkeypatch.setattr(Preallocator, "start", start)
    yield started


def _store(tmp_path: Path, name: str) -> tuple[Database, Settings, Path]:
    """A SQLite store of its own (preallocation is for SQLite files), and its file."""
    path = tmp_path / name / "billport.db"
    path.parent.mkdir()
    settings = load_settings(
        environ={},
        data_dir=tmp_path / name,
        database_url=f"sqlite:///{path}",
        now="2026-11-21T12:00:00Z",
        worker=False,
    )
    return Database.from_settings(settings), settings, path


def _check(path: Path) -> tuple[int, int]:
    """(file size, database size) after an integrity check."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return path.stat().st_size, pages * page_size


def test_window_stays_ahead_of_the_writer_and_never_changes_written_bytes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "file"
    head = os.urandom(3 * MB)
    path.write_bytes(head)
    preallocator = Preallocator(path, window=8 * MB, start_bytes=0)
    preallocator.start()
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            tail = os.urandom(2 * MB)  # what the writer adds while the window moves on
            os.pwrite(fd, tail, len(head))
        finally:
            os.close(fd)
        _wait_for(lambda: preallocator.allocated >= len(head) + len(tail) + 8 * MB)
    finally:
        preallocator.stop()
    data = path.read_bytes()
    assert data[: len(head) + len(tail)] == head + tail
    assert len(data) >= len(head) + len(tail) + 8 * MB
    assert data[len(head) + len(tail) :].count(0) == len(data) - len(head) - len(tail)
    preallocator.trim(len(head) + len(tail))
    assert path.read_bytes() == head + tail


def test_small_writes_never_start_it(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"x" * 1000)
    with preallocate.preallocated(path, lambda: 1000):
        path.write_bytes(b"y" * 1000)
    assert path.stat().st_size == 1000


def test_a_preallocated_seed_stores_the_same_rows_in_a_file_of_its_own_size(
    tmp_path: Path, started_preallocators: list[Preallocator], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, fast_settings, fast_path = _store(tmp_path, "fast")
    plain, plain_settings, _ = _store(tmp_path, "plain")
    try:
        seed_small(fast, fast_settings, line_items=6_000)
        assert len(started_preallocators) == 1 and started_preallocators[0].allocated > 0
        with monkeypatch.context() as patch:
            patch.setattr(preallocate, "supported", lambda: False)
            seed_small(plain, plain_settings, line_items=6_000)
        assert len(started_preallocators) == 1
        assert _digest(fast) == _digest(plain)
    finally:
        fast.dispose()
        plain.dispose()
    file_size, database_size = _check(fast_path)
    assert file_size == database_size


def test_a_failed_load_leaves_its_rows_out_and_the_file_sound(
    tmp_path: Path, started_preallocators: list[Preallocator]
) -> None:
    database, settings, path = _store(tmp_path, "store")
    try:
        seed_small(database, settings, line_items=500)
        rows_before = _digest(database)
        with database.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE filler (blob BLOB)")
            conn.commit()
        database.engine.dispose()
        before = _check(path)
        failing = pytest.raises(RuntimeError, match="load failed")
        with failing, loading.bulk_transaction(database.engine) as conn:
            for _ in range(2):
                conn.exec_driver_sql("INSERT INTO filler VALUES (randomblob(1000000))")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            grown = pages * conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            _wait_for(lambda: path.stat().st_size >= before[0] + 4 * MB)  # the window, past `grown`
            raise RuntimeError("load failed")
        database.engine.dispose()
        after = _check(path)
        assert after[1] == before[1]
        # Trimmed to what the failed transaction had grown to (or less, where its rollback
        # truncated the file): the zeros preallocated past it are gone.
        assert before[0] <= after[0] <= grown < before[0] + 4 * MB
        assert _digest(database) == rows_before
        with database.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 0
    finally:
        database.dispose()
