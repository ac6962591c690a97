"""Typed rows of downloaded export parts, read exactly in pure Python.

This is the exact path: numbers are parsed as ``Decimal`` from their JSON text (never through
``float``), datetimes become aware UTC ``datetime``s, keys in any spelling land on their
canonical field (``billport.billing.fieldnames``). Every value that does not fit its field's
type raises :class:`OutputError` naming the file and line. The text writers use it directly;
the Arrow writers use it to find and explain a line the fast reader refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from isal import isal_zlib

from billport.billing.datasets import AttributeSet, Dataset, Field, fields
from billport.billing.fieldnames import PERCENT, canonical_key, is_rate_alias
from billport.outputs.errors import OutputError
from billport.outputs.gzipfile import open_gzip

Converter = Callable[[Any], Any]
# One decoder for every line (json.loads with parse_float builds a new one per call).
DECODER = json.JSONDecoder(parse_float=Decimal)


def to_string(value: Any) -> str | None:
    """Strings as they are; numbers as their exact text; objects (``Tags``) as JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a decimal")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError(f"{type(value).__name__} is not a decimal number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal")
    return number


def to_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        raise ValueError(f"{value!r} is not an integer")
    return int(number)


def to_datetime(value: Any) -> datetime | None:
    """ISO-8601 text as an aware UTC datetime; no offset means UTC; microsecond precision."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO-8601 date-time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


CONVERTERS: dict[str, Converter] = {
    "string": to_string,
    "decimal": to_decimal,
    "int": to_int,
    "datetime": to_datetime,
}


@dataclass(frozen=True)
class Columns:
    """The output columns: the dataset's fields, then extra keys seen in the first row."""

    fields: tuple[Field, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def columns_for(
    dataset: Dataset, attribute_set: AttributeSet, first_keys: Sequence[str] = ()
) -> Columns:
    """Documented fields of the dataset, plus unknown keys of ``first_keys`` as strings."""
    documented = fields(dataset, attribute_set)
    known = {f.name for f in documented}
    resolve = canonical_key(dataset, AttributeSet.FULL)
    extra = []
    for key in first_keys:
        name = resolve(key)
        if name not in known and name not in extra:
            extra.append(name)
    full = {f.name: f for f in fields(dataset, AttributeSet.FULL)}
    # A full-set field present in a basic export (e.g. a newer service) keeps its type.
    extras = tuple(full.get(name, Field(name, "string")) for name in extra)
    return Columns(documented + extras)


class RowParser:
    """Turns one JSON line into a tuple of typed values in column order."""

    def __init__(self, dataset: Dataset, columns: Columns) -> None:
        self.columns = columns
        self.resolve = canonical_key(dataset, AttributeSet.FULL)
        self.index = {f.name: i for i, f in enumerate(columns.fields)}
        self.converters = [CONVERTERS[f.type] for f in columns.fields]
        self._plans: dict[tuple[str, ...], list[tuple[str, int, Converter | None, bool]]] = {}

    def _plan(self, keys: tuple[str, ...]) -> list[tuple[str, int, Converter | None, bool]]:
        """Per key of a row shape: its column, its converter (None: a string field), rate?"""
        cached = self._plans.get(keys)
        if cached is not None:
            return cached
        plan: list[tuple[str, int, Converter | None, bool]] = []
        taken: dict[str, str] = {}
        for key in keys:
            name = self.resolve(key)
            if name not in self.index:
                raise ValueError(
                    f"unexpected key {key!r}: not a field of this dataset and not in the "
                    "first line of the export"
                )
            if name in taken:
                raise ValueError(f"keys {taken[name]!r} and {key!r} both name {name!r}")
            taken[name] = key
            i = self.index[name]
            converter = self.converters[i]
            plan.append((key, i, None if converter is to_string else converter, is_rate_alias(key)))
        self._plans[keys] = plan
        return plan

    def parse(self, line: bytes) -> tuple[Any, ...]:
        try:
            doc = DECODER.decode(line.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError is one too
            raise ValueError(f"invalid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
        values: list[Any] = [None] * len(self.converters)
        for key, i, converter, rate in self._plan(tuple(doc)):
            value = doc[key]
            if converter is None:  # string field: the common case, kept inline
                if value is not None and type(value) is not str:
                    value = to_string(value)
            else:
                try:
                    value = converter(value)
                except ValueError as exc:
                    raise ValueError(f"field {key!r}: {exc}") from None
                if rate and value is not None:
                    value = value * PERCENT
            values[i] = value
        return tuple(values)


def open_part(path: Path) -> IO[bytes]:
    """A downloaded part, decompressed when it is gzip (by magic bytes, not by name)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return open_gzip(path, "rb")
    return open(path, "rb")


# What a damaged or truncated gzip stream raises while reading.
# isal stubs declare `error` as an instance; it is the IsalError class.
_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
READ_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, _ISAL_ERROR)


def first_keys(path: Path) -> list[str]:
    """The keys of the first JSON line of ``path`` ([] for an empty part)."""
    number = 0
    try:
        with open_part(path) as handle:
            for number, line in enumerate(handle, 1):  # noqa: B007 (used in the error)
                if line.strip():
                    return _keys(path, number, line)
    except READ_ERRORS as exc:
        raise OutputError(f"{path}, line {number + 1}: cannot read: {exc}") from None
    return []


def _keys(path: Path, number: int, line: bytes) -> list[str]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise OutputError(f"{path}, line {number}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OutputError(f"{path}, line {number}: expected a JSON object")
    return list(doc)


def iter_rows(parts: Sequence[Path], parser: RowParser) -> Iterator[tuple[Any, ...]]:
    """Typed rows of every part in order; OutputError names the file and line of a bad row."""
    for path in parts:
        try:
            handle = open_part(path)
        except READ_ERRORS as exc:
            raise OutputError(f"{path}: cannot read: {exc}") from exc
        with handle:
            number = 0
            try:
                for number, line in enumerate(handle, 1):  # noqa: B007 (used in the error)
                    if line.strip():
                        yield parser.parse(line)
            except (ValueError, OSError, EOFError) as exc:
                where = (
                    f"{path}, line {number + 1}"
                    if isinstance(exc, OSError | EOFError)
                    else (f"{path}, line {number}")
                )
                raise OutputError(f"{where}: {exc}") from None
