"""Bulk inserts for seeding and imports: small aggregates through SQLAlchemy Core, line items
through the driver's fast path (SQLite ``executemany``, PostgreSQL ``COPY``).

Every function writes on the caller's connection, inside the caller's transaction, so a load
is all-or-nothing.
"""

from __future__ import annotations

import itertools
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from billport.store.preallocate import preallocated
from billport.store.tables import customers, invoices, meters, partners, products

LINE_ITEM_COLUMNS = (
    "tenant_id", "dataset", "invoice_id", "billing_month", "currency", "customer_id",
    "charge_type", "total", "rev", "doc_full", "doc_basic",
)  # fmt: skip
LineItemRow = Sequence[Any]  # values in LINE_ITEM_COLUMNS order; total as exact decimal text
Sink = Callable[[Sequence[LineItemRow]], None]

# Rows in one INSERT: 11 parameters each, under SQLite's 32,766 (3.32+; 999 before).
SQLITE_ROWS_PER_INSERT = 2500
_PG_COPY = f"COPY line_items ({', '.join(LINE_ITEM_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)  # no flags, no extension
_PG_TRAILER = struct.pack("!h", -1)
_HEAD = struct.Struct("!hi")  # field count, then the first field's length
_TEXT = struct.Struct("!i")
_SMALL = struct.Struct("!ih")
_INT = struct.Struct("!ii")
_BIG = struct.Struct("!iq")
_NULL = _TEXT.pack(-1)


def insert_partners(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Partner tenant rows (tenant_id, name, mpn_id, domain_name, country, is_default, ...)."""
    if rows:
        conn.execute(partners.insert(), list(rows))


def insert_customers(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(customers.insert(), list(rows))


def _insert_missing(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert catalogue rows whose primary key is not stored yet (they are shared by tenants)."""
    keys = [c.name for c in table.primary_key.columns]
    existing = {tuple(r) for r in conn.execute(sa.select(*table.primary_key.columns))}
    fresh = [r for r in rows if tuple(r[k] for k in keys) not in existing]
    if fresh:
        conn.execute(table.insert(), fresh)
    return len(fresh)


def insert_products(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    return _insert_missing(conn, products, rows)


def insert_meters(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    return _insert_missing(conn, meters, rows)


def insert_invoices(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(invoices.insert(), list(rows))


def _sqlite_values(count: int) -> str:
    """An INSERT of ``count`` rows in one statement."""
    row = f"({', '.join('?' for _ in LINE_ITEM_COLUMNS)})"
    return f"INSERT INTO line_items ({', '.join(LINE_ITEM_COLUMNS)}) VALUES " + ", ".join(
        [row] * count
    )


_SQLITE_INSERT = _sqlite_values(1)


def _sqlite_sink(conn: sa.Connection) -> Sink:
    """Rows appended up to ``SQLITE_ROWS_PER_INSERT`` to a statement.

    ``executemany`` releases the GIL around every row's step and must win it back each
    time: while another thread computes (the import's reader), each row then waits out
    that thread's switch interval (5 ms), and the writer crawls at a few hundred rows a
    second. One statement of many rows waits once per statement (docs/performance.md#import).
    """
    raw = conn.connection.driver_connection
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    per = min(SQLITE_ROWS_PER_INSERT, limit // len(LINE_ITEM_COLUMNS))
    many = _sqlite_values(per)
    cursor = raw.cursor()  # type: ignore[union-attr]
    chained = itertools.chain.from_iterable

    def sink(rows: Sequence[LineItemRow]) -> None:
        whole = len(rows) - len(rows) % per
        for start in range(0, whole, per):
            cursor.execute(many, list(chained(rows[start : start + per])))
        if whole < len(rows):
            cursor.executemany(_SQLITE_INSERT, rows[whole:])

    return sink


def _pg_binary(rows: Sequence[LineItemRow]) -> bytes:
    """Rows in PostgreSQL's binary COPY format: bytea goes in raw, not hex-escaped."""
    pack_text = _TEXT.pack
    out: list[bytes] = []
    append = out.append
    for (
        tenant,
        dataset,
        invoice,
        month,
        currency,
        customer,
        charge,
        total,
        rev,
        full,
        basic,
    ) in rows:
        t, c, cu, ch, to = (tenant.encode(), currency.encode(), customer.encode(),
                            charge.encode(), total.encode())  # fmt: skip
        inv = _NULL if invoice is None else pack_text(len(invoice)) + invoice.encode()
        append(_HEAD.pack(11, len(t)) + t + _SMALL.pack(2, dataset) + inv
               + _INT.pack(4, month) + pack_text(len(c)) + c + pack_text(len(cu)) + cu
               + pack_text(len(ch)) + ch + pack_text(len(to)) + to + _BIG.pack(8, rev)
               + pack_text(len(full)) + full + pack_text(len(basic)) + basic)  # fmt: skip
    return b"".join(out)


def _postgres_sink(conn: sa.Connection) -> Sink:
    raw = conn.connection.driver_connection

    def sink(rows: Sequence[LineItemRow]) -> None:
        with raw.cursor() as cursor, cursor.copy(_PG_COPY) as copy:  # type: ignore[union-attr]
            copy.write(_PG_SIGNATURE + _pg_binary(rows) + _PG_TRAILER)

    return sink


def line_item_sink(conn: sa.Connection) -> Sink:
    """A function that appends a batch of rows to ``line_items`` on ``conn``."""
    # Make sure SQLAlchemy has begun its transaction before we talk to the driver directly.
    conn.execute(sa.select(sa.literal(1)))
    if conn.dialect.name == "sqlite":
        return _sqlite_sink(conn)
    if conn.dialect.name == "postgresql":
        return _postgres_sink(conn)
    raise NotImplementedError(conn.dialect.name)


def _pragma(raw: Any, statement: str) -> Any:
    row = raw.execute(statement).fetchone()
    return row[0] if row else None


def _postgres_bulk_settings(conn: sa.Connection) -> None:
    """Transaction-local settings for a bulk load on PostgreSQL.

    Line item rows stay uncompressed up to a page (``toast_tuple_target``, migration 0004);
    larger ones are compressed, and with the default pglz that compression is most of the
    load's server CPU. lz4 (PG 14+, when built with it) is several times faster, and
    readers decompress it transparently.
    """
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("SET LOCAL default_toast_compression = 'lz4'")
    except sa.exc.DBAPIError:  # older server or built without lz4: keep pglz
        pass


@contextmanager
def bulk_transaction(engine: sa.Engine, *, preallocate: bool = True) -> Iterator[sa.Connection]:
    """One transaction for a bulk load; on SQLite, the fast path when nobody else is connected.

    SQLite changes ``synchronous`` and ``journal_mode`` only outside a transaction, so both are
    set before BEGIN and restored after COMMIT on the same connection:

    - ``synchronous=OFF``: no fsync while loading (the brief's "acceptable inside the seeding
      transaction"); durability comes back with the restore.
    - ``journal_mode=DELETE`` instead of WAL when this is the only connection: in WAL mode
      every page is written twice (WAL, then checkpoint) and a large transaction spills the
      same index pages into the WAL again and again: 3-8x slower. When other connections
      are open the switch fails at once (``busy_timeout=0``) and the load stays in WAL.
    - Outside WAL, a second thread preallocates the file ahead of the writer
      (:mod:`billport.store.preallocate`), unless ``preallocate`` is false: that moves the
      kernel's page allocation off the writing thread at the cost of more CPU in all, a win
      only when a core would otherwise idle (seeding; not an import, whose reader keeps
      both busy: docs/performance.md#import).
    - ``BEGIN IMMEDIATE``: the write lock is taken before the first read, so a server
      writing meanwhile (its request log, a queued export) makes the load wait, never fail.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            with conn.begin():
                _postgres_bulk_settings(conn)
                yield conn
            return
        if conn.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        raw = conn.connection.driver_connection
        saved = {
            name: _pragma(raw, f"PRAGMA {name}")
            for name in ("synchronous", "cache_size", "busy_timeout", "journal_mode")
        }
        raw.execute("PRAGMA synchronous=OFF")  # type: ignore[union-attr]
        raw.execute("PRAGMA cache_size=-131072")  # type: ignore[union-attr]  # 128 MiB
        raw.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        switched = False
        if saved["journal_mode"] == "wal":
            try:
                switched = _pragma(raw, "PRAGMA journal_mode=DELETE") == "delete"
            except Exception:  # sqlite3.OperationalError: other connections hold the WAL
                switched = False
        raw.execute(f"PRAGMA busy_timeout={int(saved['busy_timeout'])}")  # type: ignore[union-attr]
        # In WAL mode the pages go to the -wal file, which a checkpoint reuses: nothing to gain.
        outside_wal = switched or saved["journal_mode"] != "wal"
        database = _sqlite_file(raw) if preallocate and outside_wal else None
        try:
            with conn.begin(), preallocated(database, lambda: _sqlite_size(raw)):
                # Take the write lock first (waiting out busy_timeout for other writers, e.g.
                # a server's request log): a load that read first and wrote later would fail
                # at once with "database is locked" if another connection committed between.
                if not raw.in_transaction:  # type: ignore[union-attr]
                    raw.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
                yield conn
        finally:
            if switched:
                raw.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
            raw.execute(f"PRAGMA synchronous={int(saved['synchronous'])}")  # type: ignore[union-attr]
            raw.execute(f"PRAGMA cache_size={int(saved['cache_size'])}")  # type: ignore[union-attr]


def _sqlite_file(raw: Any) -> Path | None:
    """The main database's file, or None in memory."""
    for _seq, name, file in raw.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def _sqlite_size(raw: Any) -> int:
    return int(_pragma(raw, "PRAGMA page_count")) * int(_pragma(raw, "PRAGMA page_size"))


def write_line_items(conn: sa.Connection, batches: Iterable[Sequence[LineItemRow]]) -> int:
    """Append every batch to ``line_items``; returns the row count."""
    sink = line_item_sink(conn)
    count = 0
    for batch in batches:
        sink(batch)
        count += len(batch)
    return count
