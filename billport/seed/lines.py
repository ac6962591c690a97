# ruff: noqa: UP031  (%-formatting is the fastest way to render these rows)
"""The hot loop: line item rows of one scope (dataset × invoice or open period × currency).

A row costs a few random bits, integer arithmetic on amounts in minor units and one ``%``
format per attribute set; amounts are integers scaled by 10**2 or 10**6, so the decimal
text is exact and sums are exact.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from billport.billing.datasets import Dataset
from billport.seed.pools import ReconTemplate, UsageTemplate
from billport.seed.templates import Compiled, Slot, datetime_text
from billport.seed.world import Period

# (tenant_id, dataset, invoice_id, billing_month, currency, customer_id, charge_type, total,
#  rev, doc_full, doc_basic): the order of billport.store.loading.LINE_ITEM_COLUMNS
Row = tuple[str, int, str | None, int, str, str, str, str, int, bytes, bytes]

# Row arguments, in order: (day, charge, quantity, subtotal whole, fraction, tax whole,
# fraction, total whole, fraction, day, quantity).
RECON_SLOTS = (
    Slot("OrderDate", '"%s"'),
    Slot("ChargeType", '"%s"'),
    Slot("Quantity", "%d"),
    Slot("Subtotal", "%d.%02d", 2),
    Slot("TaxTotal", "%d.%02d", 2),
    Slot("Total", "%d.%02d", 2),
    Slot("ChargeStartDate", '"%s"'),
    Slot("BillableQuantity", "%d.00"),
)
# (day, quantity whole, fraction, billing total whole, fraction, pricing whole, fraction)
USAGE_SLOTS = (
    Slot("UsageDate", '"%s"'),
    Slot("Quantity", "%d.%06d", 2),
    Slot("BillingPreTaxTotal", "%d.%06d", 2),
    Slot("PricingPreTaxTotal", "%d.%06d", 2),
)
# Cycle charges dominate real reconciliation files; the others start mid-period.
CHARGE_TYPES = ("Cycle charge",) * 5 + ("New", "Renew", "Add quantity")
CHARGE_BYTES = tuple(c.encode() for c in CHARGE_TYPES)


@dataclass(frozen=True)
class Scope:
    """Where rows go: a billed invoice, or an open (unbilled) period, in one currency."""

    tenant_id: str
    dataset: Dataset
    period: Period
    currency: str
    invoice_id: str | None  # billed datasets only
    last_day: datetime  # latest charge / usage day (today for the open period)

    def days(self) -> list[bytes]:
        """The period's days up to ``last_day`` as exported datetime text."""
        count = max(1, (self.last_day - self.period.start).days + 1)
        return [datetime_text(self.period.start + timedelta(days=d)).encode() for d in range(count)]


def _compile_recon(scope: Scope, templates: Sequence[ReconTemplate]) -> list[tuple]:  # type: ignore[type-arg]
    filled = {
        "InvoiceNumber": scope.invoice_id or "",
        "ChargeEndDate": scope.period.end,
        "PCToBCExchangeRateDate": scope.period.start,
    }
    out = []
    for t in templates:
        c: Compiled = t.doc.fill(filled).compile(RECON_SLOTS)
        out.append(
            (
                c.full,
                c.basic,
                c.pick_full,
                c.pick_basic,
                t.customer.customer_id,
                t.effective_micro,
                t.customer.tax_bp,
            )
        )
    return out


def _compile_usage(scope: Scope, templates: Sequence[UsageTemplate]) -> list[tuple]:  # type: ignore[type-arg]
    filled = {
        "InvoiceNumber": scope.invoice_id or "",
        "ChargeStartDate": scope.period.start,
        "ChargeEndDate": scope.period.end,
    }
    out = []
    for t in templates:
        c: Compiled = t.doc.fill(filled).compile(USAGE_SLOTS)
        out.append(
            (
                c.full,
                c.basic,
                c.pick_full,
                c.pick_basic,
                t.customer.customer_id,
                t.price_micro,
                t.usd_price_micro,
            )
        )
    return out


def recon_rows(
    rng: random.Random,
    scope: Scope,
    templates: Sequence[ReconTemplate],
    count: int,
    batch: int,
    sums: list[int],
) -> Iterator[list[Row]]:
    """``count`` reconciliation rows in batches; adds their ``Total`` (cents) to ``sums[0]``."""
    compiled = _compile_recon(scope, templates)
    days = scope.days()
    ndays, ntpl = len(days), len(compiled)
    head = (
        scope.tenant_id,
        scope.dataset.code,
        scope.invoice_id,
        scope.period.month,
        scope.currency,
    )
    bits = rng.getrandbits
    total_cents = 0
    done = 0
    while done < count:
        size = min(batch, count - done)
        rows: list[Row] = []
        append = rows.append
        for _ in range(size):
            r = bits(64)
            full, basic, pick_full, pick_basic, customer, effective, tax_bp = compiled[r % ntpl]
            r >>= 16
            kind = r & 7
            day = days[0] if kind < 5 else days[(r >> 3) % ndays]  # cycle charges: day one
            quantity = 1 + ((r >> 12) & 63)
            sub = (effective * quantity + 5_000) // 10_000
            tax = (sub * tax_bp + 5_000) // 10_000
            total = sub + tax
            total_cents += total
            whole, cents = divmod(total, 100)
            args = (day, CHARGE_BYTES[kind], quantity, sub // 100, sub % 100, tax // 100,
                    tax % 100, whole, cents, day, quantity)  # fmt: skip
            append((*head, customer, CHARGE_TYPES[kind], "%d.%02d" % (whole, cents), 0,
                    full % pick_full(args), basic % pick_basic(args)))  # fmt: skip
        done += size
        yield rows
    sums[0] += total_cents


def usage_rows(
    rng: random.Random,
    scope: Scope,
    templates: Sequence[UsageTemplate],
    count: int,
    batch: int,
    sums: list[int],
) -> Iterator[list[Row]]:
    """``count`` usage rows in batches; adds ``BillingPreTaxTotal`` (10**-6) to ``sums[0]``."""
    compiled = _compile_usage(scope, templates)
    days = scope.days()
    ndays, ntpl = len(days), len(compiled)
    head = (
        scope.tenant_id,
        scope.dataset.code,
        scope.invoice_id,
        scope.period.month,
        scope.currency,
    )
    bits = rng.getrandbits
    total_micro = 0
    done = 0
    while done < count:
        size = min(batch, count - done)
        rows: list[Row] = []
        append = rows.append
        for _ in range(size):
            r = bits(64)
            full, basic, pick_full, pick_basic, customer, price, usd_price = compiled[r % ntpl]
            r >>= 16
            quantity = 1 + ((r >> 8) & 0x1FFFFFF)  # up to ~33.5 units, 6 places
            billing = (quantity * price + 500_000) // 1_000_000
            pricing = (quantity * usd_price + 500_000) // 1_000_000
            total_micro += billing
            whole, fraction = divmod(billing, 1_000_000)
            args = (days[r % ndays], quantity // 1_000_000, quantity % 1_000_000, whole,
                    fraction, pricing // 1_000_000, pricing % 1_000_000)  # fmt: skip
            append((*head, customer, "new", "%d.%06d" % (whole, fraction), 0,
                    full % pick_full(args), basic % pick_basic(args)))  # fmt: skip
        done += size
        yield rows
    sums[0] += total_micro
