"""Billed aggregated usage rows from billed usage rows: the rules and the shaping (pure).

Microsoft has not published the column table of the beta ``billedAggregatedUsage`` export
(spec additions-2026 §1.4), so everything here comes from ``export_fields.json``: its
``groupBy`` (billed usage columns whose equal values make one group) and, per exported
column, a ``rule``:

- ``first``: the value of column ``from`` (default: the same name) in the group's first
  billed usage row (lowest id): a group key, or an attribute that depends on the keys;
- ``sum``: the exact decimal sum of column ``from`` over the group's rows;
- ``creditedPrice``: the price ``from`` less the percentage ``credit``, exactly;
- ``jsonList``: JSON array text of the non-empty values of the columns ``from``.

The inputs of ``creditedPrice`` and ``jsonList`` must be group keys, so that every row of a
group agrees on them; summed columns must not be. Swapping the columns is an edit of the
JSON file alone.
"""

from __future__ import annotations

import decimal
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from billport.billing.datasets import Dataset, fields, raw_field_table

DATASET = Dataset.BILLED_AGGREGATED_USAGE
RULES = frozenset({"first", "sum", "creditedPrice", "jsonList"})
HUNDRED = Decimal(100)
# Sums are exact: no rounding at any size a decimal column can hold (traps make sure).
EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.Rounded, decimal.Overflow])


@dataclass(frozen=True)
class Column:
    """One exported column and how it is computed from a group of billed usage rows."""

    name: str
    type: str
    rule: str
    sources: tuple[str, ...]  # billed usage columns read
    credit: str | None = None  # creditedPrice: the percentage column


@dataclass(frozen=True)
class Rules:
    group_by: tuple[str, ...]
    columns: tuple[Column, ...]
    version: str  # changes whenever the rules change: part of the data fingerprint

    @property
    def sums(self) -> tuple[str, ...]:
        """The billed usage columns summed, once each, in column order."""
        return tuple(dict.fromkeys(c.sources[0] for c in self.columns if c.rule == "sum"))


def _column(raw: Mapping[str, Any], source_names: set[str], keys: set[str]) -> Column:
    name, rule = raw["name"], raw.get("rule", "first")
    if rule not in RULES:
        raise ValueError(f"{DATASET.value}.{name}: unknown rule {rule!r}")
    picked = raw.get("from", name)
    sources = tuple(picked) if isinstance(picked, list) else (picked,)
    credit = raw.get("credit")
    for source in (*sources, *([credit] if credit else [])):
        if source not in source_names:
            raise ValueError(f"{DATASET.value}.{name}: {source!r} is not a billed usage column")
        if rule in ("creditedPrice", "jsonList") and source not in keys:
            raise ValueError(f"{DATASET.value}.{name}: {source!r} must be in groupBy")
    if rule == "sum" and sources[0] in keys:
        raise ValueError(f"{DATASET.value}.{name}: a summed column cannot be a group key")
    if rule == "creditedPrice" and not credit:
        raise ValueError(f"{DATASET.value}.{name}: creditedPrice needs 'credit'")
    return Column(name, raw["type"], rule, sources, credit)


@cache
def rules() -> Rules:
    """The aggregation rules of ``export_fields.json``, checked against billed usage."""
    raw = raw_field_table()[DATASET.value]
    source_names = {f.name for f in fields(Dataset.BILLED_USAGE)}
    keys = tuple(raw["groupBy"])
    unknown = sorted(set(keys) - source_names)
    if unknown:
        raise ValueError(f"{DATASET.value}.groupBy: not billed usage columns: {unknown}")
    columns = tuple(_column(c, source_names, set(keys)) for c in raw["full"])
    digest = hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return Rules(keys, columns, digest[:12])


def decimal_text(raw: str | bytes | None) -> Decimal | None:
    """A stored JSON value (a number's literal text, or a quoted string) as a Decimal."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith('"'):
        text = orjson.loads(text)
    text = text.strip()
    return Decimal(text) if text and text != "null" else None


def exact_sum(values: Iterable[Decimal | None]) -> Decimal:
    """The sum of the non-null values, exactly (as PostgreSQL ``numeric`` sums them)."""
    total: Decimal | None = None
    for value in values:
        if value is not None:
            total = value if total is None else EXACT.add(total, value)
    return Decimal(0) if total is None else total


def credited(price: Decimal, percent: Decimal) -> Decimal:
    """``price`` less ``percent`` %, exactly; at ``price``'s scale when that loses nothing."""
    exact = EXACT.multiply(price, EXACT.subtract(HUNDRED, percent)).scaleb(-2, EXACT)
    tidy = exact.quantize(price, context=decimal.Context(prec=200))
    return tidy if tidy == exact else exact


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _render(kind: str, value: Any) -> Any:
    """A value for orjson: decimals as their positional text (never a float)."""
    if kind == "decimal":
        number = _number(value)
        return None if number is None else orjson.Fragment(format(number, "f"))
    if kind == "int":
        number = _number(value)
        return None if number is None else int(number)
    if value is None:
        return None
    return value if isinstance(value, str) else format(value, "f")


def _value(column: Column, first: Mapping[str, Any], sums: Mapping[str, Decimal]) -> Any:
    source = column.sources[0]
    if column.rule == "sum":
        return sums[source]
    if column.rule == "creditedPrice":
        price = _number(first.get(source))
        percent = _number(first.get(column.credit or "")) or Decimal(0)
        return None if price is None else credited(price, percent)
    if column.rule == "jsonList":
        found = [first.get(s) for s in column.sources]
        values = [v if isinstance(v, str) else format(v, "f") for v in found if v not in (None, "")]
        return orjson.dumps(values).decode()
    return first.get(source)


def shape(first: Mapping[str, Any], sums: Mapping[str, Decimal]) -> bytes:
    """One aggregated row as its exported JSON document (keys in column order).

    ``first`` is the group's first billed usage row (decimals parsed as Decimal), ``sums``
    the exact sums of :attr:`Rules.sums`.
    """
    out = {c.name: _render(c.type, _value(c, first, sums)) for c in rules().columns}
    return orjson.dumps(out)


def parse_doc(doc: bytes) -> dict[str, Any]:
    """A stored document with every number as an exact Decimal (orjson has no such mode)."""
    parsed: dict[str, Any] = json.loads(doc, parse_float=Decimal, parse_int=Decimal)
    return parsed
