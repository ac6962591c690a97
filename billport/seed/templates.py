"""Pre-rendered JSON documents with holes: a line item costs one ``%`` format per attribute set.

A :class:`DocTemplate` maps field names to their JSON value text; fields without a value are
*slots*. :meth:`DocTemplate.compile` turns it into two ``%``-format strings (full and basic,
keys in :func:`billport.billing.datasets.fields` order) and two pickers that take a row's slot
values and return the argument tuple of each format. Slot values are raw text written between
the quotes of string/datetime fields or bare for numbers, so they must never need escaping
(dates, GUIDs, decimal text, fixed words).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson

from billport.billing.datasets import AttributeSet, Dataset, fields

Picker = Callable[[Sequence[str]], tuple[str, ...]]


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


def _picker(indexes: list[int]) -> Picker:
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        index = indexes[0]
        return lambda values: (values[index],)
    return itemgetter(*indexes)  # type: ignore[return-value]


@dataclass(frozen=True)
class Compiled:
    """Two format strings and the pickers that feed them from one tuple of slot values."""

    full: str
    basic: str
    pick_full: Picker
    pick_basic: Picker

    def docs(self, values: Sequence[str]) -> tuple[bytes, bytes]:
        """The full and basic documents for one row (used off the hot path)."""
        full = self.full % self.pick_full(values)
        basic = self.basic % self.pick_basic(values)
        return full.encode(), basic.encode()


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

    def compile(self, slots: Sequence[str]) -> Compiled:
        """Format strings whose holes are ``slots`` (every field without a value)."""
        formats: list[str] = []
        pickers: list[Picker] = []
        for attribute_set in (AttributeSet.FULL, AttributeSet.BASIC):
            parts: list[str] = []
            indexes: list[int] = []
            for field in fields(self.dataset, attribute_set):
                if field.name in self.values:
                    parts.append(f'"{field.name}":' + self.values[field.name].replace("%", "%%"))
                    continue
                if field.name not in slots:
                    raise KeyError(f"{self.dataset.value}.{field.name} has no value and no slot")
                quoted = field.type in ("string", "datetime")
                parts.append(f'"{field.name}":' + ('"%s"' if quoted else "%s"))
                indexes.append(slots.index(field.name))
            formats.append("{" + ",".join(parts) + "}")
            pickers.append(_picker(indexes))
        return Compiled(formats[0], formats[1], pickers[0], pickers[1])
