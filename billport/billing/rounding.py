"""Microsoft's published ``Subtotal`` rules for new-commerce reconciliation rows.

From the new-commerce invoice reconciliation file page (spec/additions-2026.md §1.6):

- usage-based:
  ``ROUNDDOWN(ROUNDDOWN(EffectiveUnitPrice * BillableQuantity, 2) * PCToBCExchangeRate, 2)``
- license / seat-based:
  ``ROUNDDOWN(EffectiveUnitPrice * PCToBCExchangeRate, 2) * BillableQuantity``

Excel's ``ROUNDDOWN`` rounds toward zero (a credit of -1.239 is -1.23), which is Decimal's
``ROUND_DOWN``. Which rule a row follows is not a column of the file: a row is usage-based
when its ``ChargeType`` says usage, it names a meter (``MeterDescription``), or it is Azure
plan consumption (a ``DZH318Z0…`` product, as in Microsoft's samples, bought without a
term: reservations share the prefix but are bought for a term); else it is seat-based.
That split is an inference (docs/sync.md), the formulas are Microsoft's.

The one home of these rules: the seed (which writes rows) and the lake's ``verify`` (which
checks them) both use this module, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

CENT = Decimal("0.01")
AZURE_PLAN_PREFIX = "DZH318Z0"  # Azure plan meters' product ids


def rounddown(value: Decimal) -> Decimal:
    """Excel's ``ROUNDDOWN(value, 2)``: toward zero."""
    return value.quantize(CENT, rounding=ROUND_DOWN)


def usage_based(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` follows the usage-based rule (else the seat-based one)."""
    charge = str(row.get("ChargeType") or "").strip().lower()
    product = str(row.get("ProductId") or "").strip().upper()
    term = str(row.get("TermAndBillingCycle") or "").strip()
    metered = bool(str(row.get("MeterDescription") or "").strip())
    return charge == "usage" or metered or (product.startswith(AZURE_PLAN_PREFIX) and not term)


def seat_unit_price(price: Decimal, rate: Decimal) -> Decimal:
    """``ROUNDDOWN(EffectiveUnitPrice * PCToBCExchangeRate, 2)``: one seat's ``Subtotal``."""
    return rounddown(price * rate)


def seat_subtotal(price: Decimal, quantity: Decimal, rate: Decimal) -> Decimal:
    """The license / seat-based ``Subtotal``."""
    return seat_unit_price(price, rate) * quantity


def usage_subtotal(price: Decimal, quantity: Decimal, rate: Decimal) -> Decimal:
    """The usage-based ``Subtotal``."""
    return rounddown(rounddown(price * quantity) * rate)


def expected_subtotal(row: Mapping[str, Any]) -> Decimal | None:
    """The ``Subtotal`` the rules give for ``row``; None when a needed amount is missing."""
    price = row.get("EffectiveUnitPrice")
    quantity = row.get("BillableQuantity")
    rate = row.get("PCToBCExchangeRate")
    if price is None or quantity is None:
        return None
    rate = Decimal(1) if rate is None else Decimal(rate)
    return subtotal_by_rule(row, Decimal(price), Decimal(quantity), rate)


def subtotal_by_rule(
    row: Mapping[str, Any], price: Decimal, quantity: Decimal, rate: Decimal
) -> Decimal:
    """The ``Subtotal`` of ``row``'s rule (usage- or seat-based) for these exact amounts."""
    rule = usage_subtotal if usage_based(row) else seat_subtotal
    return rule(price, quantity, rate)
