"""The four Graph partner billing datasets, their fields and attribute sets.

Field names, order and types come from ``export_fields.json`` (a copy of
``shared/spec/export-fields.json``): the exact keys written in exported JSON lines.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


class Dataset(enum.Enum):
    """A dataset; the value is the name used in the field list and the database."""

    BILLED_RECONCILIATION = "billedReconciliation"
    UNBILLED_RECONCILIATION = "unbilledReconciliation"
    BILLED_USAGE = "billedUsage"
    UNBILLED_USAGE = "unbilledUsage"

    @property
    def billed(self) -> bool:
        return self in (Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE)

    @property
    def usage(self) -> bool:
        return self in (Dataset.BILLED_USAGE, Dataset.UNBILLED_USAGE)

    @property
    def code(self) -> int:
        """Small integer stored in the ``line_items.dataset`` column."""
        return _CODES[self]

    @property
    def url_path(self) -> str:
        """``reconciliation/billed`` etc.: the Graph path segment of the export action."""
        kind = "usage" if self.usage else "reconciliation"
        return f"{kind}/{'billed' if self.billed else 'unbilled'}"

    @property
    def cli_name(self) -> str:
        """``billed-reconciliation`` etc."""
        kind = "usage" if self.usage else "reconciliation"
        return f"{'billed' if self.billed else 'unbilled'}-{kind}"

    @classmethod
    def from_code(cls, code: int) -> Dataset:
        return _BY_CODE[code]


_CODES = {
    Dataset.BILLED_RECONCILIATION: 1,
    Dataset.UNBILLED_RECONCILIATION: 2,
    Dataset.BILLED_USAGE: 3,
    Dataset.UNBILLED_USAGE: 4,
}
_BY_CODE = {code: ds for ds, code in _CODES.items()}


class AttributeSet(enum.Enum):
    FULL = "full"
    BASIC = "basic"


class BillingPeriod(enum.Enum):
    CURRENT = "current"
    LAST = "last"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | decimal | int | datetime


@cache
def _field_table() -> dict[str, dict[str, tuple[Field, ...]]]:
    text = resources.files("billport.billing").joinpath("export_fields.json").read_text("utf-8")
    raw = json.loads(text)
    return {
        dataset: {
            attr_set: tuple(Field(f["name"], f["type"]) for f in fields)
            for attr_set, fields in sets.items()
        }
        for dataset, sets in raw.items()
    }


def fields(dataset: Dataset, attribute_set: AttributeSet = AttributeSet.FULL) -> tuple[Field, ...]:
    """The exported fields of ``dataset`` in ``attribute_set``, in export order."""
    return _field_table()[dataset.value][attribute_set.value]


def field_names(
    dataset: Dataset, attribute_set: AttributeSet = AttributeSet.FULL
) -> tuple[str, ...]:
    return tuple(f.name for f in fields(dataset, attribute_set))
