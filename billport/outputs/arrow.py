"""Export parts as Arrow record batches with typed columns, read by pyarrow's JSON reader.

Fast path: each part is streamed through ``pyarrow.json.open_json`` with an explicit schema
whose field names are the key spellings of the part's first line (so camelCase files need no
rewriting) and whose types come from ``export_fields.json``: decimals as ``decimal128(38, s)``
(parsed from the JSON number text, exactly — pyarrow refuses a value that needs more places),
ints as ``int64``, datetimes read as text and cast to ``timestamp[us, UTC]`` per batch (so a
blank date is a null, not a refused part; text without an offset is UTC). Columns are then
renamed to the canonical names; v1 rate aliases are scaled to percentages.

When pyarrow refuses the rest of a part (a bad row, a key spelled differently further down,
a value outside what it parses), the exact pure-Python reader (``rows.py``) continues that
part after the rows already converted: a bad row becomes an :class:`OutputError` naming the
file and line, a valid one is converted exactly. Only a decimal with more places than the
column's scale changes the schema: the plan's scale is widened and :class:`Restart` tells the
caller to write the output again, because batches already written cannot be taken back.
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
from billport.outputs.rows import Columns, RowParser, first_keys, iter_rows

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
    """The schema changed after batches were handed out: the caller writes the output again."""


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def to_timestamps(text: pa.Array, target: pa.DataType) -> pa.Array:
    """ISO-8601 text as UTC timestamps: blank is null, no offset means UTC."""
    if text.null_count < len(text):
        blank = pc.equal(text, "")
        if pc.any(blank).as_py():
            text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    try:
        return text.cast(target)
    except pa.ArrowInvalid:  # raises again (-> Python reader) when offsets are mixed
        return text.cast(pa.timestamp(target.unit)).cast(target)


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
    read_schema = pa.schema(
        [
            pa.field(spelled.get(f.name, f.name), pa.string() if _is_time(f.type) else f.type)
            for f in schema
        ]
    )
    rates = [i for i, f in enumerate(read_schema) if is_rate_alias(f.name)]
    dates = [i for i, f in enumerate(schema) if _is_time(f.type)]
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
            for i in dates:
                arrays[i] = to_timestamps(arrays[i], schema.field(i).type)
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _is_time(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind))


def slow_batches(
    path: Path, dataset: Dataset, columns: Columns, schema: pa.Schema, skip: int = 0
) -> Iterator[pa.RecordBatch]:
    """Record batches of one part through the exact Python reader, after ``skip`` rows."""
    parser = RowParser(dataset, columns)
    pending: list[tuple[Any, ...]] = []
    for number, row in enumerate(iter_rows([path], parser)):
        if number < skip:
            continue
        pending.append(row)
        if len(pending) >= SLOW_BATCH_ROWS:
            yield _to_batch(pending, schema, path)
            pending = []
    if pending:
        yield _to_batch(pending, schema, path)


class _WiderScale(Exception):
    def __init__(self, scale: int, path: Path) -> None:
        super().__init__(scale)
        self.scale, self.path = scale, path


def _to_batch(rows: list[tuple[Any, ...]], schema: pa.Schema, path: Path) -> pa.RecordBatch:
    arrays = []
    for i, f in enumerate(schema):
        values = [row[i] for row in rows]
        try:
            arrays.append(pa.array(values, type=f.type))
        except (pa.ArrowInvalid, OverflowError) as exc:
            needed = places(values) if pa.types.is_decimal(f.type) else 0
            if needed > f.type.scale:
                raise _WiderScale(needed, path) from None
            raise OutputError(f"{path}: field {f.name!r} does not fit {f.type}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def places(values: list[Any]) -> int:
    """The most decimal places among Decimal ``values`` (None skipped)."""
    most = 0
    for value in values:
        if value is not None:
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > most:
                most = -exponent
    return most


def batches(
    parts: Sequence[Path], dataset: Dataset, columns: Columns, plan: Plan
) -> Iterator[pa.RecordBatch]:
    """Every part's batches in order under ``plan``. Raises Restart (with ``plan`` updated)
    when a decimal needs a wider scale than the schema's."""
    schema = schema_for(columns, plan.scale)
    try:
        for index, path in enumerate(parts):
            if index in plan.slow:
                yield from slow_batches(path, dataset, columns, schema)
                continue
            done = 0
            try:
                for batch in fast_batches(path, dataset, columns, schema):
                    done += batch.num_rows
                    yield batch
            except (pa.ArrowException, OSError):
                plan.slow.add(index)  # a restart sends this part straight to Python
                yield from slow_batches(path, dataset, columns, schema, skip=done)
    except _WiderScale as wider:
        if wider.scale >= PRECISION:
            raise OutputError(
                f"{wider.path}: a decimal has {wider.scale} places; "
                f"at most {PRECISION - 1} are supported"
            ) from None
        plan.scale = wider.scale
        raise Restart(f"decimal scale {wider.scale}") from None
