"""Line items rendered by SQLite itself: one ``INSERT ... SELECT`` per chunk of a job.

Binding a row's eleven values costs Python about as much as SQLite's ``printf`` costs to
render the row, so on SQLite the rows never exist in Python: the statement counts rows
``i`` (:func:`billport.seed.draws.counter_sql`), draws ``h1, h2`` from the job's seed
(:func:`billport.seed.draws.draws_sql`), looks the pattern up in the TEMP table
``seed_patterns`` and fills its two formats with ``printf``, whose ``%s``, ``%d``,
``%d.%02d``, ``%d.%06d`` and ``%%`` write what Python's ``bytes`` ``%`` writes. The
formulas are those of :mod:`billport.seed.lines` (the reference), term for term, so the
rows are the same bytes; a test compares every column. Billed totals stay exact: each
chunk's ``total`` texts are summed as integers (cents) right after the chunk is inserted.

``printf`` takes one argument order per statement, so a job whose patterns disagree on it
(none do today: every template of a dataset fills the same fields) is rendered in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from billport.seed.draws import NO_FLATTEN, counter_rows, counter_sql, draws_sql, seed_halves
from billport.seed.lines import (
    CHARGE_TYPES,
    CYCLE_KINDS,
    USAGE_QUANTITY,
    Lines,
    Pattern,
    write_python_rows,
)
from billport.store import loading

CHUNK_ROWS = 20_000  # rows per statement: ~70 MB of pages, inside bulk_transaction's cache
# printf arguments in slot order (lines.RECON_SLOTS / USAGE_SLOTS), as columns of the row query
RECON_ARGS = ("day", "charge_type", "quantity", "sub / 100", "sub % 100", "tax / 100",
              "tax % 100", "(sub + tax) / 100", "(sub + tax) % 100", "day", "quantity",
              ":number", ":period_end", ":period_start")  # fmt: skip
USAGE_ARGS = ("day", "quantity / 1000000", "quantity % 1000000", "billing / 1000000",
              "billing % 1000000", "pricing / 1000000", "pricing % 1000000", ":number",
              ":period_start", ":period_end")  # fmt: skip
_DAY = "substr(:days, (d.h1 >> 16) % :ndays * :width + 1, :width)"
_KIND = "(d.h2 & 7)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_PATTERN = "CROSS JOIN seed_patterns AS p ON p.k = d.h1 % :patterns"


def _recon_rows() -> str:
    charge = " ".join(f"WHEN {k} THEN {_literal(c)}" for k, c in enumerate(CHARGE_TYPES))
    quantity = "(1 + ((d.h2 >> 3) & 63))"
    sub = f"(p.a * {quantity})"
    return (
        f"SELECT p.customer_id, p.full, p.basic, CASE {_KIND} {charge} END AS charge_type, "
        f"CASE WHEN {_KIND} < {CYCLE_KINDS} THEN substr(:days, 1, :width) ELSE {_DAY} END AS day, "
        f"{quantity} AS quantity, {sub} AS sub, (({sub} * p.b + 5000) / 10000) AS tax"
    )


def _usage_rows() -> str:
    quantity = f"(1 + (d.h2 & {USAGE_QUANTITY}))"
    return (
        f"SELECT p.customer_id, p.full, p.basic, 'new' AS charge_type, {_DAY} AS day, "
        f"{quantity} AS quantity, (({quantity} * p.a + 500000) / 1000000) AS billing, "
        f"(({quantity} * p.b + 500000) / 1000000) AS pricing"
    )


_DRAWS = draws_sql(counter_sql(":start", ":count"), ":low", ":high")


def insert_sql(lines: Lines) -> str:
    """The statement that inserts rows ``:start`` ... ``:start + :count - 1`` of ``lines``."""
    usage = lines.scope.dataset.usage
    rows, names = (_usage_rows(), USAGE_ARGS) if usage else (_recon_rows(), RECON_ARGS)
    first = lines.patterns[0]
    full = ", ".join(names[k] for k in first.full_args)
    basic = ", ".join(names[k] for k in first.basic_args)
    total = (
        "printf('%d.%06d', billing / 1000000, billing % 1000000)"
        if usage
        else "printf('%d.%02d', (sub + tax) / 100, (sub + tax) % 100)"
    )
    return (
        f"INSERT INTO line_items ({', '.join(loading.LINE_ITEM_COLUMNS)}) "
        f"SELECT :tenant, :dataset, :invoice, :month, :currency, customer_id, charge_type, "
        f"{total}, 0, CAST(printf(full, {full}) AS BLOB), CAST(printf(basic, {basic}) AS BLOB) "
        f"FROM ({rows} FROM ({_DRAWS}) AS d {_PATTERN} {NO_FLATTEN})"
    )


# Exact: totals are '%d.%02d' text, so without the dot they are integers (cents). Reading a
# chunk's rows back while they are in SQLite's page cache costs less than drawing them again.
_LAST_ID = "SELECT coalesce(max(id), 0) FROM line_items"
_TOTAL_SINCE = (
    "SELECT coalesce(sum(CAST(replace(total, '.', '') AS INTEGER)), 0) FROM line_items WHERE id > ?"
)


def renderable(lines: Lines) -> bool:
    """Whether SQL can render ``lines``: one argument order, days of one width."""
    orders = {(p.full_args, p.basic_args) for p in lines.patterns}
    widths = {len(d) for d in lines.scope.days()}
    return len(orders) == 1 and len(widths) == 1  # no patterns: Python raises as it should


class SqliteLines:
    """Inserts jobs' rows on a SQLite connection inside its transaction (TEMP tables for the
    counter and the patterns live as long as the ``with`` block)."""

    def __init__(self, conn: sa.Connection, chunk: int = CHUNK_ROWS) -> None:
        conn.execute(sa.select(sa.literal(1)))  # SQLAlchemy's transaction has begun
        raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        self.conn = conn
        self.cursor = raw.cursor()
        self.chunk = chunk
        self.patterns: tuple[Pattern, ...] = ()  # in seed_patterns

    def __enter__(self) -> SqliteLines:
        self.cursor.execute("CREATE TEMP TABLE seed_counter (k INTEGER PRIMARY KEY)")
        self.cursor.executemany("INSERT INTO seed_counter VALUES (?)", counter_rows())
        self.cursor.execute(
            "CREATE TEMP TABLE seed_patterns (k INTEGER PRIMARY KEY, full TEXT, basic TEXT, "
            "customer_id TEXT, a INTEGER, b INTEGER)"
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:  # after an error the transaction rolls back, temp tables included
            self.cursor.execute("DROP TABLE temp.seed_counter")
            self.cursor.execute("DROP TABLE temp.seed_patterns")
        self.cursor.close()

    def insert(self, lines: Lines) -> int:
        """Insert every row of ``lines``; returns the sum of their ``Total`` in cents
        (reconciliation; 0 for usage)."""
        if not renderable(lines):
            return write_python_rows(self.conn, lines, self.chunk)
        total = 0
        statement = insert_sql(lines)
        for params in self._chunks(lines):
            before = self.cursor.execute(_LAST_ID).fetchone()[0]
            self.cursor.execute(statement, params)
            if not lines.scope.dataset.usage:
                total += self.cursor.execute(_TOTAL_SINCE, (before,)).fetchone()[0]
        return total

    def _chunks(self, lines: Lines) -> Iterator[dict[str, Any]]:
        """Statement parameters for each chunk of ``lines`` (after filling seed_patterns)."""
        if lines.patterns is not self.patterns:  # jobs of one tenant and currency share them
            self.cursor.execute("DELETE FROM seed_patterns")
            self.cursor.executemany(
                "INSERT INTO seed_patterns VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (k, p.full.decode(), p.basic.decode(), p.customer_id, p.a, p.b)
                    for k, p in enumerate(lines.patterns)
                ],
            )
            self.patterns = lines.patterns
        days = lines.scope.days()
        low, high = seed_halves(lines.seed)
        head = ("tenant", "dataset", "invoice", "month", "currency")
        number, period_start, period_end = (text.decode() for text in lines.scope.texts())
        params: dict[str, Any] = dict(
            zip(head, lines.scope.head(), strict=True),
            number=number,
            period_start=period_start,
            period_end=period_end,
            days=b"".join(days).decode(),
            ndays=len(days),
            width=len(days[0]),
            patterns=len(lines.patterns),
            low=low,
            high=high,
        )
        for start in range(0, lines.count, self.chunk):
            yield {**params, "start": start, "count": min(self.chunk, lines.count - start)}
