"""``write_output``: downloaded export parts -> one JSONL, CSV, Parquet or DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset
from billport.outputs.atomic import replacing
from billport.outputs.errors import OutputError, require_format
from billport.outputs.formats import format_for
from billport.outputs.rows import Columns, RowParser, columns_for, first_keys, iter_rows


@dataclass(frozen=True)
class OutputResult:
    rows: int
    path: Path


def write_output(
    parts: Sequence[Path],
    *,
    dataset: Dataset,
    attribute_set: AttributeSet,
    output: Path,
    table: str | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> OutputResult:
    """Convert downloaded export parts (gzip or plain JSON lines) into ``output``.

    The format comes from the extension (:func:`format_for`). Columns are the dataset's fields
    of ``attribute_set`` in export order, under their canonical names whatever spelling the
    parts use, plus keys the first line has that the dataset does not document (as strings).
    Decimals stay exact, datetimes are UTC timestamps, missing fields are null. ``table``
    names the DuckDB table (default: the dataset name, e.g. ``billedReconciliation``).
    ``on_rows(rows so far)`` is called as rows are converted (every ``COUNT_EVERY`` rows or
    Arrow batch, and at the end), for a progress display; a Parquet/DuckDB output that has
    to be written again (a decimal wider than its column) counts again from 0.

    The output appears complete or not at all: it is written under a temporary name in the
    same directory and renamed at the end. Raises :class:`OutputError` naming the file and
    line of a row that cannot be converted, ``MissingAnalytics`` when Parquet/DuckDB output
    lacks the ``analytics`` extra, ValueError for an unknown extension or a bad table name.
    """
    fmt = format_for(output)
    parts = [Path(p) for p in parts]
    output = Path(output)
    if fmt != "duckdb" and table is not None:
        raise ValueError("a table name applies to .duckdb output only")
    columns = columns_for(dataset, attribute_set, _first_keys(parts))
    if fmt in ("parquet", "duckdb"):
        name = table or dataset.value
        return _write_arrow(parts, dataset, columns, output, fmt, name, on_rows)
    rows = iter_rows(parts, RowParser(dataset, columns))
    if on_rows is not None:
        rows = _counted_rows(rows, on_rows)
    with replacing(output) as temp:
        from billport.outputs import text

        if fmt == "csv":
            kinds = tuple(f.type for f in columns.fields)
            count = text.write_csv(rows, columns.names, temp, kinds)
        else:
            count = text.write_jsonl(rows, columns.names, temp, gzip=fmt == "jsonl.gz")
    return OutputResult(count, output)


COUNT_EVERY = 1_000  # rows between two on_rows calls of the text writers


def _counted_rows(
    rows: Iterable[tuple[Any, ...]], on_rows: Callable[[int], None]
) -> Iterator[tuple[Any, ...]]:
    number = 0
    for row in rows:
        yield row
        number += 1
        if number % COUNT_EVERY == 0:
            on_rows(number)
    on_rows(number)


def _counted_batches(batches: Iterable[Any], on_rows: Callable[[int], None]) -> Iterator[Any]:
    number = 0
    on_rows(0)
    for batch in batches:
        yield batch
        number += batch.num_rows
        on_rows(number)


def _first_keys(parts: Sequence[Path]) -> list[str]:
    for path in parts:
        try:
            keys = first_keys(path)
        except OSError as exc:
            raise OutputError(f"{path}: cannot read: {exc}") from exc
        if keys:
            return keys
    return []


def _write_arrow(
    parts: Sequence[Path],
    dataset: Dataset,
    columns: Columns,
    output: Path,
    fmt: str,
    table: str,
    on_rows: Callable[[int], None] | None = None,
) -> OutputResult:
    require_format(fmt)
    if fmt == "duckdb":
        from billport.outputs.duckdb_file import check_table_name

        check_table_name(table)
    from billport.outputs import arrow

    plan = arrow.Plan()
    for _ in range(len(parts) + arrow.PRECISION + 1):  # each restart widens or slows for good
        schema = arrow.schema_for(columns, plan.scale)
        stream = arrow.batches(parts, dataset, columns, plan)
        if on_rows is not None:
            stream = _counted_batches(stream, on_rows)
        try:
            with replacing(output) as temp:
                if fmt == "parquet":
                    from billport.outputs.parquet import write_parquet

                    count = write_parquet(stream, schema, temp)
                else:
                    from billport.outputs.duckdb_file import write_duckdb

                    count = write_duckdb(stream, schema, temp, table)
            return OutputResult(count, output)
        except arrow.Restart:
            continue
    raise OutputError(f"could not convert {len(parts)} parts into {output}")  # pragma: no cover
