"""Pre-rendered JSON documents with holes: a line item costs one ``%`` format per attribute set.

A :class:`DocTemplate` maps field names to their JSON value text; fields without a value are
*slots*. :meth:`DocTemplate.compile` turns it into two ``bytes`` ``%``-formats (full and basic,
keys in :func:`billport.billing.datasets.fields` order), each with its argument order (indexes
into a row's argument tuple: SQLite's ``printf`` uses the same formats, see
:mod:`billport.seed.sqlite_lines`) and a picker that takes those arguments out of the tuple.
A :class:`Slot` says how its value is written: ``'"%s"'`` (bytes that never need escaping:
dates, fixed words), ``'%d'``, or ``'%d.%02d'`` (whole and fraction of an exact decimal, two
arguments). Formatting bytes with integer arguments is about 3x faster than building text and
encoding it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson

from billport.billing.datasets import AttributeSet, Dataset, fields

Picker = Callable[[Sequence[Any]], tuple[Any, ...]]


@dataclass(frozen=True)
class Slot:
    """A per-row hole: the field, its ``%`` spec and how many arguments the spec takes."""

    name: str
    spec: str
    arity: int = 1


def json_text(value: str) -> str:
    """A JSON string literal (UTF-8 kept as is, quotes and controls escaped)."""
    return orjson.dumps(value).decode()


def datetime_text(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: the exported datetime format (UTC, whole seconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render(kind: str, value: Any) -> str:
    """The JSON text of one constant field value of type ``kind``."""
    if kind == "string":
        return json_text(value)
    if kind == "datetime":
        return json_text(value if isinstance(value, str) else datetime_text(value))
    if kind == "int":
        return str(int(value))
    text = str(value)  # decimal: exact text, never through float
    if "e" in text.lower() or text in {"NaN", "Infinity"}:
        raise ValueError(f"decimal {text!r} must be plain positional text")
    return text


def picker(indexes: Sequence[int]) -> Picker:
    """A function that takes the values at ``indexes`` out of a sequence, as a tuple."""
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        index = indexes[0]
        return lambda values: (values[index],)
    return itemgetter(*indexes)


@dataclass(frozen=True)
class Compiled:
    """Two format strings and which of a row's slot values each takes, in order."""

    full: bytes
    basic: bytes
    full_args: tuple[int, ...]  # indexes into the row's slot values, in format order
    basic_args: tuple[int, ...]

    def docs(self, args: Sequence[Any]) -> tuple[bytes, bytes]:
        """The full and basic documents for one row (the hot loops inline this)."""
        full, basic = picker(self.full_args)(args), picker(self.basic_args)(args)
        return self.full % full, self.basic % basic


@dataclass(frozen=True)
class DocTemplate:
    """A line item document of ``dataset`` with some values rendered and the rest slots."""

    dataset: Dataset
    values: Mapping[str, str]

    @classmethod
    def build(cls, dataset: Dataset, raw: Mapping[str, Any]) -> DocTemplate:
        """Render the constant values in ``raw`` by their field types."""
        types = {f.name: f.type for f in fields(dataset, AttributeSet.FULL)}
        unknown = set(raw) - set(types)
        if unknown:
            raise KeyError(f"not fields of {dataset.value}: {sorted(unknown)}")
        return cls(dataset, {name: render(types[name], value) for name, value in raw.items()})

    def fill(self, raw: Mapping[str, Any]) -> DocTemplate:
        """A copy with more constant values (e.g. the invoice number of one scope)."""
        more = DocTemplate.build(self.dataset, raw).values
        return DocTemplate(self.dataset, {**self.values, **more})

    def compile(self, slots: Sequence[Slot]) -> Compiled:
        """Formats whose holes are ``slots`` (every field without a value), in row-arg order."""
        positions: dict[str, tuple[Slot, range]] = {}
        offset = 0
        for slot in slots:
            positions[slot.name] = (slot, range(offset, offset + slot.arity))
            offset += slot.arity
        formats: list[bytes] = []
        orders: list[tuple[int, ...]] = []
        for attribute_set in (AttributeSet.FULL, AttributeSet.BASIC):
            parts: list[str] = []
            indexes: list[int] = []
            for field in fields(self.dataset, attribute_set):
                if field.name in self.values:
                    parts.append(f'"{field.name}":' + self.values[field.name].replace("%", "%%"))
                    continue
                if field.name not in positions:
                    raise KeyError(f"{self.dataset.value}.{field.name} has no value and no slot")
                slot, args = positions[field.name]
                parts.append(f'"{field.name}":{slot.spec}')
                indexes.extend(args)
            formats.append(("{" + ",".join(parts) + "}").encode())
            orders.append(tuple(indexes))
        return Compiled(formats[0], formats[1], orders[0], orders[1])
