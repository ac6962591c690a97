"""``write_output``: downloaded export parts -> one JSONL, CSV, Parquet or DuckDB file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
) -> OutputResult:
    """Convert downloaded export parts (gzip or plain JSON lines) into ``output``.

    The format comes from the extension (:func:`format_for`). Columns are the dataset's fields
    of ``attribute_set`` in export order, under their canonical names whatever spelling the
    parts use, plus keys the first line has that the dataset does not document (as strings).
    Decimals stay exact, datetimes are UTC timestamps, missing fields are null. ``table``
    names the DuckDB table (default: the dataset name, e.g. ``billedReconciliation``).

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
        return _write_arrow(parts, dataset, columns, output, fmt, table or dataset.value)
    rows = iter_rows(parts, RowParser(dataset, columns))
    with replacing(output) as temp:
        from billport.outputs import text

        if fmt == "csv":
            kinds = tuple(f.type for f in columns.fields)
            count = text.write_csv(rows, columns.names, temp, kinds)
        else:
            count = text.write_jsonl(rows, columns.names, temp, gzip=fmt == "jsonl.gz")
    return OutputResult(count, output)


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
