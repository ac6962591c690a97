"""Partner Center portal CSV files: the new-commerce invoice reconciliation file and the
(billed or unbilled) daily-rated usage file, read as rows of a Graph export dataset.

The header decides the kind: its column names (any casing, so ``BenefitId`` is
``BenefitID``) are matched against the reconciliation and the usage field lists of
``export_fields.json``; the basic attribute set's columns are required, the full set's
others may be missing (rendered empty), columns of neither are ignored (the usage file's
``PCToBCExchangeRateDate``). UTF-8, with or without a BOM. Billed or unbilled: a
``--kind``, else a non-empty ``InvoiceNumber`` in the first row means billed.

Each cell becomes the JSON text Graph would send for it (docs/import.md, "Portal CSV
files"): text as a JSON string, decimals positional and exact (``7.10833E-05`` is
``0.0000710833``; never a float) with at least the scale billport's Graph rows have, dates
``YYYY-MM-DDTHH:MM:SSZ``. The file is read as a text stream by the csv module, one record
at a time (memory flat in file size).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from billport.billing.datasets import AttributeSet, Dataset, field_names, fields
from billport.errors import InvalidRequest
from billport.ingest.rows import BadRow, RowError, Shape

# The Graph dataset each portal file kind is read as (billed and unbilled share columns).
FAMILIES = {"reconciliation": Dataset.BILLED_RECONCILIATION, "usage": Dataset.BILLED_USAGE}
UNBILLED = {
    Dataset.BILLED_RECONCILIATION: Dataset.UNBILLED_RECONCILIATION,
    Dataset.BILLED_USAGE: Dataset.UNBILLED_USAGE,
}
# Fewest places a decimal is written with: the scale of billport's own Graph rows
# (docs/data.md, storage contract). More places are kept, never rounded.
MIN_SCALE = {
    Dataset.BILLED_RECONCILIATION: {
        "UnitPrice": 2, "Subtotal": 2, "TaxTotal": 2, "Total": 2, "BillableQuantity": 2,
        "EffectiveUnitPrice": 6, "PCToBCExchangeRate": 6,
    },
    Dataset.BILLED_USAGE: {
        "UnitPrice": 6, "Quantity": 6, "BillingPreTaxTotal": 6, "PricingPreTaxTotal": 6,
        "EffectiveUnitPrice": 6, "PCToBCExchangeRate": 6,
    },
}  # fmt: skip
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?"
)
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
Convert = Callable[[str], str]


# Text stays text, exactly as in the cell (JSON inside Tags and the like included): a JSON
# string literal, UTF-8 kept, quotes, backslashes and control characters escaped (what
# orjson writes too; this is one C call, no bytes to decode).
string_json: Callable[[str], str] = json.encoder.encode_basestring


def decimal_json(cell: str, scale: int = 0) -> str:
    """An exact positional JSON number with at least ``scale`` places; ``null`` when empty."""
    text = cell.strip()
    if not text:
        return "null"
    plain = _PLAIN.fullmatch(text)
    if plain is not None:  # already positional and canonical: only padding may be needed
        places = len(plain.group(1) or "")
        if places >= scale:
            return text
        return text + ("" if places else ".") + "0" * (scale - places)
    if not _DECIMAL.fullmatch(text):
        raise RowError(f"not a decimal number: {text[:40]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # the pattern only lets numbers through: defensive
        raise RowError(f"not a decimal number: {text[:40]!r}") from None
    out = format(value, "f")
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places < scale:
        out += ("" if places else ".") + "0" * (scale - places)
    return out.lstrip("+")


def int_json(cell: str) -> str:
    """A JSON integer (``3`` or ``3.00`` or ``3E0``); ``null`` when empty."""
    text = cell.strip()
    if not text:
        return "null"
    number = Decimal(decimal_json(text))
    if number != number.to_integral_value():
        raise RowError(f"not a whole number: {text[:40]!r}")
    return str(int(number))


@functools.lru_cache(maxsize=4096)  # a file holds few distinct dates: parse each once
def datetime_json(cell: str) -> str:
    """``MM/DD/YYYY[ h:mm[:ss][ AM|PM]]`` or ISO 8601 as ``"YYYY-MM-DDTHH:MM:SSZ"`` (UTC; a
    fraction of a second is kept when not zero); ``null`` when empty."""
    text = cell.strip()
    if not text:
        return "null"
    fraction = ""
    try:
        if (us := _US_DATE.fullmatch(text)) is not None:
            month, day, year, hour, minute, second, half = us.groups()
            hours = int(hour or 0)
            if half is not None:
                if not 1 <= hours <= 12:
                    raise ValueError("hour")
                hours = hours % 12 + (12 if half.lower() == "pm" else 0)
            moment = datetime(int(year), int(month), int(day), hours, int(minute or 0),
                              int(second or 0), tzinfo=UTC)  # fmt: skip
        elif (iso := _ISO_DATE.fullmatch(text)) is not None:
            year, month, day, hour, minute, second, frac, zone = iso.groups()
            moment = datetime(int(year), int(month), int(day), int(hour or 0),
                              int(minute or 0), int(second or 0), tzinfo=_zone(zone))  # fmt: skip
            fraction = "." + frac if frac and frac.strip("0") else ""
        else:
            raise ValueError("format")
    except ValueError:
        raise RowError(f"not a date (MM/DD/YYYY or ISO 8601): {text[:40]!r}") from None
    return f'"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}{fraction}Z"'


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if text[0] == "-" else offset)


def converter(dataset: Dataset, name: str, kind: str) -> Convert:
    if kind == "string":
        return string_json
    if kind == "int":
        return int_json
    if kind == "datetime":
        return datetime_json
    scale = MIN_SCALE[dataset].get(name, 0)
    return lambda cell: decimal_json(cell, scale)


@dataclass(frozen=True)
class Layout:
    """Where a portal file's columns go: its dataset family, and per full-set field the
    column index (None: not in the file, rendered empty)."""

    dataset: Dataset  # the billed dataset of the family
    columns: tuple[tuple[str, int | None, Convert], ...]  # (field, index, converter)
    missing: tuple[str, ...]  # full-set fields the file lacks (not required)
    ignored: tuple[str, ...]  # the file's columns that are no field of the dataset
    plan: tuple[tuple[int, Convert], ...]  # (cell index, converter) per full-set field

    def values(self, cells: list[str]) -> tuple[str, ...]:
        """:meth:`pairs`' values, in full-set order (the fast path: one comprehension)."""
        try:
            return tuple([convert(cells[i]) for i, convert in self.plan])
        except (RowError, IndexError):
            return tuple(self.pairs(cells).values())  # raises, naming the column

    def pairs(self, cells: list[str]) -> dict[str, str]:
        """The record's fields as Graph JSON value texts, in full-set order."""
        pairs: dict[str, str] = {}
        width = len(cells)
        for name, index, convert in self.columns:
            if index is None:
                pairs[name] = _empty(convert)("")
                continue
            if index >= width:
                raise RowError(f"the record has {width} cells, the header more", name)
            try:
                pairs[name] = convert(cells[index])
            except RowError as exc:
                raise RowError(exc.reason, name) from None
        return pairs


def detect(header: list[str], file: str, family: Dataset | None = None) -> Layout:
    """The layout of a portal file from its header; ``family``: the ``--kind``'s dataset."""
    names = [cell.strip().lstrip("\ufeff") for cell in header]
    folded = [name.lower() for name in names]
    seen: set[str] = set()
    for name, fold in zip(names, folded, strict=True):
        if fold in seen:
            raise InvalidRequest(f"{file}: column {name} appears twice in the header")
        seen.add(fold)

    def overlap(dataset: Dataset) -> int:
        return len(seen & {n.lower() for n in field_names(dataset)})

    dataset = family or max(FAMILIES.values(), key=overlap)
    if family is None and overlap(dataset) < 5:
        raise InvalidRequest(
            f"{file}: not a Partner Center invoice reconciliation or daily-rated usage file "
            f"(too few known columns in its header, which starts {', '.join(names[:4])!s}; "
            "docs/import.md lists the columns)"
        )
    index = {fold: i for i, fold in enumerate(folded)}
    required = field_names(dataset, AttributeSet.BASIC)
    absent = [n for n in required if n.lower() not in index]
    if absent:
        kind = "reconciliation" if dataset is Dataset.BILLED_RECONCILIATION else "usage"
        raise InvalidRequest(f"{file}: the {kind} file lacks required column(s): "
                             + ", ".join(absent))  # fmt: skip
    known = {f.name.lower() for f in fields(dataset)}
    columns = tuple(
        (f.name, index.get(f.name.lower()), converter(dataset, f.name, f.type))
        for f in fields(dataset)
    )
    plan = tuple(
        (index, convert) if index is not None else (0, _empty(convert))
        for _, index, convert in columns
    )
    return Layout(
        dataset,
        columns,
        tuple(name for name, i, _ in columns if i is None),
        tuple(name for name, fold in zip(names, folded, strict=True) if fold not in known),
        plan,
    )


def _empty(convert: Convert) -> Convert:
    """A missing column's converter: its empty value, whatever the cell it is given."""
    value = '""' if convert is string_json else convert("")
    return lambda cell: value


def shape_of(layout: Layout, first: dict[str, str], kind: Dataset | None) -> Shape:
    """Billed or unbilled: the ``--kind``, else the first row's ``InvoiceNumber``."""
    if kind is not None:
        return Shape(kind, AttributeSet.FULL)
    billed = first.get("InvoiceNumber", '""') not in ('""', "null")
    return Shape(layout.dataset if billed else UNBILLED[layout.dataset], AttributeSet.FULL)


def family_of(kind: Dataset | None) -> Dataset | None:
    if kind is None:
        return None
    return Dataset.BILLED_USAGE if kind.usage else Dataset.BILLED_RECONCILIATION


def _open(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115


def _decoded(stream: BinaryIO, file: str) -> Iterator[str]:
    """The stream's lines as text (endings kept, for csv), decoded one by one so that a
    byte that is not UTF-8 is found on its own line; a leading BOM is dropped."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRow(file, number, "", f"not UTF-8 ({exc.reason})") from None


Record = tuple[Layout | None, int, list[str]]


def records(path: str, file: str, kind: Dataset | None) -> Iterator[Record]:
    """:func:`parse` of the file at ``path`` (gzip when it ends in ``.gz``), decoded by
    Python's text layer; a byte that is not UTF-8 sends it through :func:`_decoded` again,
    which finds its line."""
    try:
        with _open(path) as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
            try:
                yield from parse(text, file, kind)
            except UnicodeDecodeError:
                with _open(path) as again:
                    for _ in _decoded(again, file):  # raises BadRow at the bad line
                        pass
                raise
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidRequest(f"{file}: not readable ({exc})") from None


def parse(stream: Iterable[str], file: str, kind: Dataset | None) -> Iterator[Record]:
    """``(layout, first line of the record, cells)`` per data record of a CSV text stream,
    one record at a time: the layout with the first record only (None after). Blank records
    are skipped."""
    reader = csv.reader(stream, strict=True)
    line = 1
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidRequest(f"{file}: empty file (no header)")
        layout: Layout | None = detect(header, file, family_of(kind))
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            yield layout, start, cells
            layout = None
    except csv.Error as exc:
        raise BadRow(file, line, "", f"not a valid CSV record ({exc})") from None
