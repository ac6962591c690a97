"""Export parts as Arrow record batches with typed columns, read by pyarrow's JSON reader.

Fast path: each part is streamed through ``pyarrow.json.open_json`` with an explicit schema
whose field names are the key spellings of the part's first line (so camelCase files need no
rewriting) and whose types come from ``export_fields.json``: decimals as ``decimal128(38, s)``
(parsed from the JSON number text, exactly — pyarrow refuses a value that needs more places),
datetimes as ``timestamp[us, UTC]``, ints as ``int64``. Columns are then renamed to the
canonical names; v1 rate aliases are scaled to percentages.

When pyarrow refuses a part, the exact pure-Python reader (``rows.py``) reads it: a bad row
becomes an :class:`OutputError` naming the file and line; a part that is valid but outside what
pyarrow accepts (blank dates, a key spelled differently further down, more decimal places) is
reconverted through the Python reader, or with a wider decimal scale. Callers restart the
output when that happens (:class:`Restart`), because batches already handed to a writer cannot
be taken back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from billport.billing.datasets import Dataset
from billport.billing.fieldnames import is_rate_alias, key_map
from billport.outputs.errors import OutputError
from billport.outputs.rows import Columns, RowParser, first_keys, iter_rows, max_scale

PRECISION = 38  # the widest decimal128: 38 - scale integer digits
DEFAULT_SCALE = 6  # billport and the documented samples use at most 6 places
BLOCK_SIZE = 1 << 20  # JSON bytes per parsed block (~650 rows): 16 MiB blocks peaked at 540 MB RSS
SLOW_BATCH_ROWS = 20_000


def arrow_type(kind: str, scale: int) -> pa.DataType:
    if kind == "decimal":
        return pa.decimal128(PRECISION, scale)
    if kind == "datetime":
        return pa.timestamp("us", tz="UTC")
    if kind == "int":
        return pa.int64()
    return pa.string()


def schema_for(columns: Columns, scale: int) -> pa.Schema:
    """The output schema: canonical names, typed columns, all nullable."""
    return pa.schema([pa.field(f.name, arrow_type(f.type, scale)) for f in columns.fields])


@dataclass
class Plan:
    """How to convert: the decimal scale and which parts go through the exact Python reader."""

    scale: int = DEFAULT_SCALE
    slow: set[int] = field(default_factory=set)


class Restart(Exception):
    """The plan changed after batches were handed out: the caller writes the output again."""


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def fast_batches(
    path: Path, dataset: Dataset, columns: Columns, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """Record batches of one part through pyarrow's JSON reader (raises pyarrow errors)."""
    keys = first_keys(path)
    if not keys:
        return
    try:
        spelled = {canon: key for key, canon in key_map(keys, dataset).items()}
    except ValueError as exc:
        raise OutputError(f"{path}, line 1: {exc}") from None
    read_schema = pa.schema([pa.field(spelled.get(f.name, f.name), f.type) for f in schema])
    rates = [i for i, f in enumerate(read_schema) if is_rate_alias(f.name)]
    stream = pa.input_stream(str(path), compression="gzip" if _is_gzip(path) else None)
    with stream:
        reader = pj.open_json(
            stream,
            read_options=pj.ReadOptions(block_size=BLOCK_SIZE),
            parse_options=pj.ParseOptions(
                explicit_schema=read_schema, unexpected_field_behavior="error"
            ),
        )
        for batch in reader:
            arrays = list(batch.columns)
            for i in rates:
                scaled = pc.multiply(arrays[i], pa.scalar(100, pa.decimal128(3, 0)))
                arrays[i] = scaled.cast(schema.field(i).type)
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def slow_batches(
    path: Path, dataset: Dataset, columns: Columns, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """Record batches of one part through the exact Python reader."""
    parser = RowParser(dataset, columns)
    pending: list[tuple[Any, ...]] = []
    for row in iter_rows([path], parser):
        pending.append(row)
        if len(pending) >= SLOW_BATCH_ROWS:
            yield _to_batch(pending, schema, path)
            pending = []
    if pending:
        yield _to_batch(pending, schema, path)


def _to_batch(rows: list[tuple[Any, ...]], schema: pa.Schema, path: Path) -> pa.RecordBatch:
    arrays = []
    for i, f in enumerate(schema):
        try:
            arrays.append(pa.array([row[i] for row in rows], type=f.type))
        except (pa.ArrowInvalid, OverflowError) as exc:
            raise OutputError(f"{path}: field {f.name!r} does not fit {f.type}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches(
    parts: Sequence[Path], dataset: Dataset, columns: Columns, plan: Plan
) -> Iterator[pa.RecordBatch]:
    """Every part's batches in order under ``plan``; updates ``plan`` and raises Restart
    when a part needs the Python reader or a wider decimal scale."""
    schema = schema_for(columns, plan.scale)
    for index, path in enumerate(parts):
        if index in plan.slow:
            yield from slow_batches(path, dataset, columns, schema)
            continue
        try:
            yield from fast_batches(path, dataset, columns, schema)
        except (pa.ArrowException, OSError) as exc:
            _replan(path, index, dataset, columns, plan)
            raise Restart(str(exc)) from None


def _replan(path: Path, index: int, dataset: Dataset, columns: Columns, plan: Plan) -> None:
    """Explain a refused part: a bad row raises OutputError; otherwise adjust the plan."""
    needed = max_scale([path], RowParser(dataset, columns))  # raises on a bad row
    if needed > plan.scale:
        if needed >= PRECISION:
            raise OutputError(f"{path}: a decimal has {needed} places; at most 37 are supported")
        plan.scale = needed
    else:
        plan.slow.add(index)
