"""The Graph partner billing datasets, their fields and attribute sets.

Field names, order and types come from ``export_fields.json`` (a copy of
``shared/spec/export-fields.json``, plus the billed aggregated usage columns that spec does
not have): the exact keys written in exported JSON lines.

Four datasets are stored (rows in ``line_items``); billed aggregated usage (beta only, no
attribute set) is computed from the stored billed usage rows of its invoice at export time
(``billing/aggregation.py``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


class Dataset(enum.Enum):
    """A dataset; the value is the name used in the field list and the database."""

    BILLED_RECONCILIATION = "billedReconciliation"
    UNBILLED_RECONCILIATION = "unbilledReconciliation"
    BILLED_USAGE = "billedUsage"
    UNBILLED_USAGE = "unbilledUsage"
    BILLED_AGGREGATED_USAGE = "billedAggregatedUsage"

    @property
    def billed(self) -> bool:
        return self in (
            Dataset.BILLED_RECONCILIATION,
            Dataset.BILLED_USAGE,
            Dataset.BILLED_AGGREGATED_USAGE,
        )

    @property
    def usage(self) -> bool:
        return self in (Dataset.BILLED_USAGE, Dataset.UNBILLED_USAGE)

    @property
    def aggregated(self) -> bool:
        """Computed from another dataset's stored rows at export time, never stored."""
        return self is Dataset.BILLED_AGGREGATED_USAGE

    @property
    def source(self) -> Dataset:
        """The dataset whose stored rows an export of this one reads."""
        return Dataset.BILLED_USAGE if self.aggregated else self

    @property
    def versions(self) -> tuple[str, ...]:
        """Graph versions that serve the export action (aggregated usage: beta only)."""
        return ("beta",) if self.aggregated else ("v1.0", "beta")

    @property
    def attribute_sets(self) -> bool:
        """Whether the export action takes ``attributeSet`` (aggregated usage does not)."""
        return not self.aggregated

    @property
    def code(self) -> int:
        """Small integer stored in the ``dataset`` columns (operations, manifests, and for
        stored datasets ``line_items``)."""
        return _CODES[self]

    @property
    def url_path(self) -> str:
        """``reconciliation/billed`` etc.: the Graph path segment of the export action."""
        return _URL_PATHS[self]

    @property
    def cli_name(self) -> str:
        """``billed-reconciliation`` etc."""
        return _URL_PATHS[self].split("/")[1] + "-" + _CLI_KINDS[self]

    @classmethod
    def from_code(cls, code: int) -> Dataset:
        return _BY_CODE[code]


_CODES = {
    Dataset.BILLED_RECONCILIATION: 1,
    Dataset.UNBILLED_RECONCILIATION: 2,
    Dataset.BILLED_USAGE: 3,
    Dataset.UNBILLED_USAGE: 4,
    Dataset.BILLED_AGGREGATED_USAGE: 5,
}
_BY_CODE = {code: ds for ds, code in _CODES.items()}
_URL_PATHS = {
    Dataset.BILLED_RECONCILIATION: "reconciliation/billed",
    Dataset.UNBILLED_RECONCILIATION: "reconciliation/unbilled",
    Dataset.BILLED_USAGE: "usage/billed",
    Dataset.UNBILLED_USAGE: "usage/unbilled",
    Dataset.BILLED_AGGREGATED_USAGE: "aggregatedUsage/billed",
}
_CLI_KINDS = {
    Dataset.BILLED_RECONCILIATION: "reconciliation",
    Dataset.UNBILLED_RECONCILIATION: "reconciliation",
    Dataset.BILLED_USAGE: "usage",
    Dataset.UNBILLED_USAGE: "usage",
    Dataset.BILLED_AGGREGATED_USAGE: "aggregated-usage",
}
# The datasets with rows of their own in ``line_items`` (the seeder writes these).
STORED_DATASETS = tuple(d for d in Dataset if not d.aggregated)


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


ATTRIBUTE_SET_KEYS = frozenset({"full", "basic"})


@cache
def raw_field_table() -> dict[str, dict[str, Any]]:
    """``export_fields.json`` as parsed (aggregation rules included)."""
    text = resources.files("billport.billing").joinpath("export_fields.json").read_text("utf-8")
    table: dict[str, dict[str, Any]] = json.loads(text)
    return table


@cache
def _field_table() -> dict[str, dict[str, tuple[Field, ...]]]:
    # Only the attribute sets' lists: other keys (``groupBy``, ``note``) are aggregation rules.
    return {
        dataset: {
            attr_set: tuple(Field(f["name"], f["type"]) for f in fields)
            for attr_set, fields in sets.items()
            if attr_set in ATTRIBUTE_SET_KEYS
        }
        for dataset, sets in raw_field_table().items()
    }


def fields(dataset: Dataset, attribute_set: AttributeSet = AttributeSet.FULL) -> tuple[Field, ...]:
    """The exported fields of ``dataset`` in ``attribute_set``, in export order.

    A dataset without attribute sets (aggregated usage) has one list, whatever is asked.
    """
    if not dataset.attribute_sets:
        attribute_set = AttributeSet.FULL
    return _field_table()[dataset.value][attribute_set.value]


def field_names(
    dataset: Dataset, attribute_set: AttributeSet = AttributeSet.FULL
) -> tuple[str, ...]:
    return tuple(f.name for f in fields(dataset, attribute_set))
