"""Billed usage rows worth aggregating, and the aggregation computed independently in Python.

``add_usage_invoice`` gives TENANT a modern invoice (INVOICE) whose billed usage rows fall
into groups of several rows each: three customers, two Azure subscriptions, four meters,
a partner-earned credit on one customer, a 100 % credit and a savings-plan benefit on some
meters, one resource priced differently from its siblings (its own row), and amounts whose
sums a float would get wrong. :func:`expected_rows` aggregates rows as docs/api-graph.md
describes, without billport's code, so tests compare the export against it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from billport.billing.datasets import Dataset
from billport.runtime import Runtime
from tests.support import exports as data

INVOICE = "G016907433"
KEYS = ("CustomerId", "SubscriptionId", "EntitlementId", "ProductId", "SkuId", "MeterId",
        "UnitPrice", "EffectiveUnitPrice", "PartnerEarnedCreditPercentage", "CreditPercentage",
        "PCToBCExchangeRate", "BenefitID")  # fmt: skip
SUMS = ("Quantity", "BillingPreTaxTotal", "PricingPreTaxTotal")
PRICES = tuple(Decimal(p) for p in ("0.104000", "2.500000", "0.013333", "99999999999.999999"))


def usage_values(n: int) -> dict[str, Any]:
    """The ``n``-th billed usage row of INVOICE."""
    customer, subscription, meter = n % 3, (n // 3) % 2, (n // 6) % 4
    price = PRICES[meter]
    effective = (price * Decimal("0.85")).quantize(price) if customer == 1 else price
    if n == 7:  # one resource of its meter without the credit: a separate price point
        effective = price
    quantity = Decimal(1) if meter == 3 else Decimal(n + 1) + Decimal("0.000001") * n
    credit = Decimal(100) if (customer, meter) == (2, 1) else Decimal(0)
    return {
        "PartnerId": data.TENANT,
        "PartnerName": "Contoso CSP",
        "CustomerId": f"cust-{customer}",
        "CustomerName": f"Fabrikam {customer} \u00e9",
        "InvoiceNumber": INVOICE,
        "ProductId": "DZH318Z0BPS6",
        "SkuId": "0001",
        "SkuName": "Azure plan",
        "SubscriptionId": f"plan-{customer}",
        "EntitlementId": f"sub-{customer}-{subscription}",
        "EntitlementDescription": ("Production", "Development")[subscription],
        "MeterId": f"meter-{meter}",
        "MeterName": f"Meter {meter}",
        "Unit": "1 Hour",
        "ChargeType": "new",
        "UnitPrice": price,
        "EffectiveUnitPrice": effective,
        "PartnerEarnedCreditPercentage": Decimal(15) if effective != price else Decimal(0),
        "CreditPercentage": credit,
        "CreditType": "Azure Credit Offer" if credit else "Credit Not Applied",
        "BenefitID": "sp-0001" if meter == 2 and customer == 0 else "",
        "BenefitType": "SavingsPlan" if meter == 2 and customer == 0 else "",
        "Quantity": quantity,
        "BillingPreTaxTotal": (quantity * price).quantize(Decimal("0.000001")),
        "PricingPreTaxTotal": (quantity * effective).quantize(Decimal("0.000001")),
        "PCToBCExchangeRate": Decimal("1.000000"),
        "BillingCurrency": "USD",
        "PricingCurrency": "USD",
        "UsageDate": f"2026-10-{1 + n % 28:02d}T00:00:00Z",
        "ResourceURI": f"/subscriptions/sub/resourceGroups/rg/providers/x/r{n}",
    }


def add_usage_invoice(runtime: Runtime, rows: int = 60) -> list[dict[str, Any]]:
    """INVOICE with ``rows`` billed usage rows (and 5 billed reconciliation rows); the values."""
    values = [usage_values(n) for n in range(rows)]
    with runtime.db.begin() as conn:
        data.add_invoice(conn, data.TENANT, INVOICE, "modern")
        data.add_rows(conn, data.TENANT, Dataset.BILLED_USAGE, values, invoice=INVOICE)
        data.add_lines(conn, data.TENANT, Dataset.BILLED_RECONCILIATION, 5, invoice=INVOICE)
    return values


def add_empty_invoice(runtime: Runtime, invoice: str) -> None:
    """A modern invoice with reconciliation rows but no billed usage."""
    with runtime.db.begin() as conn:
        data.add_invoice(conn, data.TENANT, invoice, "modern")
        data.add_lines(conn, data.TENANT, Dataset.BILLED_RECONCILIATION, 2, invoice=invoice)


def _credited(price: Decimal, percent: Decimal) -> Decimal:
    exact = price * (100 - percent) / 100
    return exact.quantize(price) if exact == exact.quantize(price) else exact


def expected_rows(usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Billed usage rows (parsed, exact decimals; in export order) aggregated by hand."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in usage:
        groups.setdefault(tuple(str(row[k]) for k in KEYS), []).append(row)
    out = []
    for rows in groups.values():  # in the order of each group's first row
        first = rows[0]
        sums = {name: sum((r[name] for r in rows), Decimal(0)) for name in SUMS}
        out.append(
            {
                **{k: first[k] for k in KEYS if k != "BenefitID"},  # shown as PriceBenefits
                **sums,
                "MeterName": first["MeterName"],
                "EntitlementDescription": first["EntitlementDescription"],
                "PartnerPrice": first["EffectiveUnitPrice"],
                "EffectiveUnitPrice": _credited(
                    first["EffectiveUnitPrice"], first["CreditPercentage"]
                ),
                "PriceBenefits": json.dumps(
                    [first["BenefitID"]] if first["BenefitID"] else [], separators=(",", ":")
                ),
                "rows": len(rows),
            }
        )
    return out
