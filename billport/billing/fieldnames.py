"""Map any spelling of an export field name to its canonical name in ``export_fields.json``.

No Microsoft source confirms the key casing inside real v2 export blobs (spec §5.2): billport
writes the documented PascalCase names, but files from the real service or from older tools
may use lower camelCase or the v1-API names (``totalForCustomer`` for ``Total``). Every reader
(client rows, output writers, reconciliation) resolves keys through this one module so that a
file in any of those spellings lands in the same columns.

Matching is case-insensitive; aliases are the renames of the Aug 2023 announcement.
Two aliases carry a *different scale*, not just a different name: ``rateOfPartnerEarnedCredit``
(0.15) and ``rateOfCredit`` (1.00) are fractions where the documented fields are percentages
(15, 100). :data:`RATE_ALIASES` lists them; :func:`canonicalize` multiplies their values by 100
so a canonical row always holds percentages. Unknown keys are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset, field_names

# Alias (any casing) -> documented name, where the alias is more than a lower-cased first letter.
ALIASES: dict[str, str] = {
    "totalforcustomer": "Total",
    "resellermpnid": "Tier2MpnId",
    "unitofmeasure": "Unit",
    "rateofpartnerearnedcredit": "PartnerEarnedCreditPercentage",
    "rateofcredit": "CreditPercentage",
}
# Aliases whose values are fractions of the documented percentage field.
RATE_ALIASES: frozenset[str] = frozenset({"rateofpartnerearnedcredit", "rateofcredit"})
PERCENT = Decimal(100)


@cache
def _lookup(dataset: Dataset, attribute_set: AttributeSet) -> dict[str, str]:
    """Lower-cased spelling -> canonical name, for the fields of one dataset + attribute set."""
    names = field_names(dataset, attribute_set)
    table = {name.lower(): name for name in names}
    for alias, target in ALIASES.items():
        if target in names:
            table.setdefault(alias, target)
    return table


def canonical_key(
    dataset: Dataset, attribute_set: AttributeSet = AttributeSet.FULL
) -> Callable[[str], str]:
    """A function mapping a key spelling to the canonical field name (unknown keys unchanged).

    >>> key = canonical_key(Dataset.BILLED_RECONCILIATION)
    >>> key("totalForCustomer"), key("customerid"), key("Extra")
    ('Total', 'CustomerId', 'Extra')
    """
    table = _lookup(dataset, attribute_set)

    def resolve(key: str) -> str:
        return table.get(key.lower(), key)

    return resolve


def is_rate_alias(key: str) -> bool:
    """True for a v1 fraction-valued alias (value = documented percentage / 100)."""
    return key.lower() in RATE_ALIASES


def key_map(
    keys: list[str] | tuple[str, ...],
    dataset: Dataset,
    attribute_set: AttributeSet = AttributeSet.FULL,
) -> dict[str, str]:
    """``{spelling in the file: canonical name}`` for the keys of one row.

    Raises ValueError when two spellings in the same row resolve to one field (e.g. both
    ``Total`` and ``totalForCustomer``): which one is right cannot be guessed.
    """
    resolve = canonical_key(dataset, attribute_set)
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key in keys:
        name = resolve(key)
        if name in seen:
            raise ValueError(f"keys {seen[name]!r} and {key!r} both name the field {name!r}")
        seen[name] = key
        out[key] = name
    return out


def canonicalize(
    row: Mapping[str, Any],
    dataset: Dataset,
    attribute_set: AttributeSet = AttributeSet.FULL,
) -> dict[str, Any]:
    """``row`` with canonical keys; values of rate aliases scaled to percentages.

    Values are otherwise untouched (a decimal parsed as ``Decimal`` stays one). Raises
    ValueError when two keys of the row name the same field.
    """
    names = key_map(tuple(row), dataset, attribute_set)
    out: dict[str, Any] = {}
    for key, value in row.items():
        if is_rate_alias(key) and value is not None and value != "":
            value = _percent(value)
        out[names[key]] = value
    return out


def _percent(value: Any) -> Any:
    """A fraction as a percentage, exactly (text and ints stay exact through Decimal)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    number = Decimal(str(value)) * PERCENT
    return number.normalize() if number == number.to_integral_value() else number
