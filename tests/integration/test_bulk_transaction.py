"""A bulk load on SQLite takes the write lock first, so a server writing meanwhile makes it
wait instead of failing it with "database is locked" (WAL refuses to upgrade a read
transaction that another connection's commit has overtaken)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from billport.store import loading
from billport.store.db import Database, create_engine
from billport.store.tables import partners, scenarios


def test_a_load_that_reads_first_waits_for_other_writers(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL has no write lock to take first")
    now = datetime(2026, 12, 3, tzinfo=UTC)
    other_done: list[BaseException | None] = []
    url = database.engine.url.render_as_string(hide_password=False)
    server = Database(create_engine(url))  # a running server's handle on the same file
    with server.connect() as held:  # its open connection keeps the load in WAL mode
        held.execute(sa.text("SELECT 1"))
        _load_while_another_writes(database, server, now, other_done)
    server.dispose()


def _load_while_another_writes(
    database: Database, server: Database, now: datetime, other_done: list[BaseException | None]
) -> None:
    def other_writer() -> None:  # e.g. the server's request log
        try:
            with server.begin() as conn:
                conn.execute(scenarios.insert().values(scope="*", document=None, updated_at=now))
            other_done.append(None)
        except BaseException as exc:
            other_done.append(exc)

    with loading.bulk_transaction(database.engine) as conn:
        conn.execute(sa.select(sa.func.count()).select_from(partners)).scalar_one()
        writer = threading.Thread(target=other_writer)
        writer.start()
        writer.join(0.5)  # it must wait for our commit, not overtake our read
        assert writer.is_alive() and other_done == [], other_done
        loading.insert_partners(
            conn,
            [dict(tenant_id="t", name="n", mpn_id="1", domain_name="d", country="US",
                  is_default=True, created_at=now)],
        )  # fmt: skip
    writer.join(30)
    assert other_done == [None]
    with database.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(partners)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(scenarios)).scalar_one() == 1


@pytest.mark.parametrize(
    "count", [1, loading.SQLITE_ROWS_PER_INSERT, 2 * loading.SQLITE_ROWS_PER_INSERT + 3]
)
def test_line_items_are_appended_whole_and_in_order(database: Database, count: int) -> None:
    """On SQLite many rows go in one statement, the rest row by row: every row lands once,
    in the order given, with its values as given (bytes stay bytes, totals exact text)."""
    rows = [
        ("t", 1, f"G{n % 7}", 202610, "USD", f"c{n}", "New", f"{n}.000100", 0,
         b'{"n":%d}' % n, b'{"b":%d}' % n)
        for n in range(count)
    ]  # fmt: skip
    with loading.bulk_transaction(database.engine) as conn:
        assert loading.write_line_items(conn, [rows[: count // 2], rows[count // 2 :]]) == count
    query = (
        sa.select(*(sa.column(c) for c in loading.LINE_ITEM_COLUMNS))
        .select_from(sa.table("line_items"))
        .order_by(sa.column("id"))
    )
    with database.connect() as conn:
        stored = [tuple(r) for r in conn.execute(query)]
    assert [(*r[:9], bytes(r[9]), bytes(r[10])) for r in stored] == rows
