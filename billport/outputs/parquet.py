"""Parquet output: typed columns, written in row groups as batches arrive (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 65_536  # rows gathered before a row group is written
COMPRESSION = "zstd"


def write_parquet(batches: Iterable[pa.RecordBatch], schema: pa.Schema, target: Path) -> int:
    """Write the batches to ``target``; returns the row count."""
    count = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(str(target), schema, compression=COMPRESSION) as writer:
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)
                count += pending_rows
                pending, pending_rows = [], 0
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)
            count += pending_rows
    return count
