"""Microsoft's ``Subtotal`` rules, as ``billport verify`` uses them.

The rules live in :mod:`billport.billing.rounding` (the lowest layer, so the seed that
writes rows and this lake code that checks them share one copy); this module re-exports
them under the names the lake code has always used.
"""

from __future__ import annotations

from billport.billing.rounding import (
    AZURE_PLAN_PREFIX,
    CENT,
    expected_subtotal,
    rounddown,
    seat_subtotal,
    seat_unit_price,
    subtotal_by_rule,
    usage_based,
    usage_subtotal,
)

__all__ = [
    "AZURE_PLAN_PREFIX",
    "CENT",
    "expected_subtotal",
    "rounddown",
    "seat_subtotal",
    "seat_unit_price",
    "subtotal_by_rule",
    "usage_based",
    "usage_subtotal",
]
