"""A worker started while its database is down waits for it instead of exiting.

The database here is a loopback port nobody listens on (connection refused at once); the
whole restart, with the store opened once the server is back, is
tests/acceptance/test_postgres_restart.py.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from billport.errors import DatabaseUnavailable
from billport.jobs import worker as worker_module
from billport.jobs.worker import open_when_reachable
from billport.settings import Settings, load_settings
from billport.store.db import Database
from tests.support.processes import free_port


def unreachable(tmp_path: Path) -> Settings:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    return load_settings(environ={}, data_dir=tmp_path / "data", database_url=url)


def test_a_database_down_at_start_is_database_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="retry later"):  # not a driver traceback
        Database.from_settings(unreachable(tmp_path))


def test_a_worker_waits_for_its_database_until_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(worker_module, "BACKOFF_SECONDS", 0.05)
    stopping = threading.Event()
    timer = threading.Timer(1.0, stopping.set)
    timer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="billport.worker"):
            assert open_when_reachable(unreachable(tmp_path), stopping) is None
    finally:
        timer.cancel()
    waits = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(waits) >= 2  # it kept trying ...
    assert len(waits) <= 6  # ... with a growing wait (0.05, 0.1, 0.2, 0.4 s), not a spin
    assert waits[0].startswith("The database is unavailable; retrying in")
