"""The SQLite pool keeps as many connections as the threads that use it (SQLAlchemy's
default of 5 made a loaded server open and close a connection, with its five PRAGMAs, on
most requests)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from billport.store.db import PoolOptions, create_engine

THREADS = 16


def test_sixteen_threads_reuse_the_pools_connections(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", PoolOptions(size=20))
    opened = []
    sa.event.listen(engine, "connect", lambda *_: opened.append(1))
    barrier = threading.Barrier(THREADS)

    def work() -> None:
        for _ in range(30):
            with engine.connect() as conn:
                barrier.wait(timeout=10)  # all sixteen hold a connection at once
                conn.execute(sa.text("SELECT 1"))

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert engine.pool.size() == 20  # type: ignore[attr-defined]
    assert len(opened) == THREADS  # opened once each, then reused 29 times
    engine.dispose()
