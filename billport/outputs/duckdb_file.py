"""DuckDB output: one table with typed columns in a new database file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from billport.outputs.errors import OutputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
INSERT_ROWS = 65_536  # rows per INSERT: one per ~650-row parsed block cost 5x more
MEMORY_LIMIT = "128MB"


def sql_type(arrow: pa.DataType) -> str:
    if pa.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision}, {arrow.scale})"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMPTZ"
    if pa.types.is_integer(arrow):
        return "BIGINT"
    return "VARCHAR"


def check_table_name(table: str) -> str:
    """Letters, digits and underscores, not starting with a digit: safe and easy to type."""
    if not _NAME.match(table):
        raise ValueError(
            f"table name {table!r}: use letters, digits and underscores, starting with a letter"
        )
    return table


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_duckdb(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, target: Path, table: str
) -> int:
    """Create ``table`` in a new database at ``target`` and load the batches; returns rows."""
    import duckdb

    check_table_name(table)
    columns = ", ".join(f"{quoted(f.name)} {sql_type(f.type)}" for f in schema)
    count = 0
    # DuckDB caches the new table in memory up to 80 % of RAM by default; spill instead.
    con = duckdb.connect(str(target), config={"memory_limit": MEMORY_LIMIT})
    insert = f"INSERT INTO {quoted(table)} SELECT * FROM billport_incoming"

    def flush(pending: list[pa.RecordBatch]) -> None:
        con.register("billport_incoming", pa.Table.from_batches(pending, schema))
        con.execute(insert)
        con.unregister("billport_incoming")

    try:
        con.execute(f"CREATE TABLE {quoted(table)} ({columns})")
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= INSERT_ROWS:
                flush(pending)
                count += pending_rows
                pending, pending_rows = [], 0
        if pending:
            flush(pending)
            count += pending_rows
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise OutputError(f"{target}: DuckDB refused the data: {exc}") from exc
    finally:
        con.close()
    return count
