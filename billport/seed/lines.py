# ruff: noqa: UP031  (%-formatting is the fastest way to render these rows)
"""Line item rows of one job (dataset × invoice or open period × currency), rendered in Python.

A job is :class:`Lines`: a scope, the compiled templates of its tenant and currency
(:class:`Pattern`), a 64-bit seed and a row count. Row ``i`` depends only on them and on the
draws ``h1, h2 = draw(seed, i)`` (:mod:`billport.seed.draws`), through integer formulas:

- pattern ``patterns[h1 % len(patterns)]``; ``a``, ``b`` are its integers;
- reconciliation: kind ``h2 & 7`` (0-4 cycle charges on day one, else the charge type of
  ``CHARGE_TYPES`` on day ``(h1 >> 16) % days``), quantity ``1 + (h2 >> 3 & 63)``,
  subtotal ``a * quantity`` cents (``a`` is one seat's ``Subtotal``, cents, by Microsoft's
  seat-based ``ROUNDDOWN`` rule: :func:`billport.seed.pools.seat_cents`), tax
  ``(subtotal * b + 5000) // 10000`` (half-up: Microsoft publishes no tax rounding rule);
- usage: day ``(h1 >> 16) % days``, quantity ``1 + (h2 & 0x1FFFFFF)`` millionths, totals
  ``(quantity * a + 500000) // 1000000`` and the same with ``b`` (10**-6).

The byte-identity contract: this module is the reference; :mod:`billport.seed.sqlite_lines`
evaluates the same formulas in SQL and must give the same rows byte for byte (a test
checks every column). Amounts are integers scaled by 10**2 or 10**6, so the decimal text
is exact and sums are exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.seed.draws import MASK, WEYL, mix, seed_halves
from billport.seed.pools import ReconTemplate, UsageTemplate
from billport.seed.templates import Slot, datetime_text, picker
from billport.seed.world import Period
from billport.store import loading

# (tenant_id, dataset, invoice_id, billing_month, currency, customer_id, charge_type, total,
#  rev, doc_full, doc_basic): the order of billport.store.loading.LINE_ITEM_COLUMNS
Row = tuple[str, int, str | None, int, str, str, str, str, int, bytes, bytes]

# Row arguments, in order: (day, charge, quantity, subtotal whole, fraction, tax whole,
# fraction, total whole, fraction, day, quantity, invoice number, period end, period start).
# The scope's values are arguments too, so a template compiles once for every job.
RECON_SLOTS = (
    Slot("OrderDate", '"%s"'),
    Slot("ChargeType", '"%s"'),
    Slot("Quantity", "%d"),
    Slot("Subtotal", "%d.%02d", 2),
    Slot("TaxTotal", "%d.%02d", 2),
    Slot("Total", "%d.%02d", 2),
    Slot("ChargeStartDate", '"%s"'),
    Slot("BillableQuantity", "%d.00"),
    Slot("InvoiceNumber", '"%s"'),
    Slot("ChargeEndDate", '"%s"'),
    Slot("PCToBCExchangeRateDate", '"%s"'),
)
# (day, quantity whole, fraction, billing total whole, fraction, pricing whole, fraction,
#  invoice number, period start, period end)
USAGE_SLOTS = (
    Slot("UsageDate", '"%s"'),
    Slot("Quantity", "%d.%06d", 2),
    Slot("BillingPreTaxTotal", "%d.%06d", 2),
    Slot("PricingPreTaxTotal", "%d.%06d", 2),
    Slot("InvoiceNumber", '"%s"'),
    Slot("ChargeStartDate", '"%s"'),
    Slot("ChargeEndDate", '"%s"'),
)
# Cycle charges dominate real reconciliation files; the others start mid-period.
CYCLE_KINDS = 5  # kinds 0-4 of 8: cycle charges, dated the period's first day
CHARGE_TYPES = ("Cycle charge",) * CYCLE_KINDS + ("New", "Renew", "Add quantity")
CHARGE_BYTES = tuple(c.encode() for c in CHARGE_TYPES)
USAGE_QUANTITY = 0x1FFFFFF  # up to ~33.5 units, 6 places


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

    def texts(self) -> tuple[bytes, bytes, bytes]:
        """The invoice number ("" when unbilled), the period's start and its end, as written
        in documents (none needs JSON escaping)."""
        start, end = datetime_text(self.period.start), datetime_text(self.period.end)
        return (self.invoice_id or "").encode(), start.encode(), end.encode()

    def head(self) -> tuple[str, int, str | None, int, str]:
        """The first five columns of every row."""
        return self.tenant_id, self.dataset.code, self.invoice_id, self.period.month, self.currency


@dataclass(frozen=True)
class Pattern:
    """A compiled template: both formats with their argument orders, and its numbers."""

    full: bytes
    basic: bytes
    full_args: tuple[int, ...]  # indexes into the row's slot values
    basic_args: tuple[int, ...]
    customer_id: str
    a: int  # reconciliation: one seat's Subtotal (cents); usage: unit price (10**-6)
    b: int  # reconciliation: tax rate (basis points); usage: USD unit price (10**-6)


@dataclass(frozen=True)
class Lines:
    """A job: ``count`` rows of ``scope`` drawn from ``patterns`` with ``seed``."""

    scope: Scope
    patterns: tuple[Pattern, ...]
    seed: int  # 64 bits
    count: int


def compile_patterns(
    templates: Sequence[ReconTemplate] | Sequence[UsageTemplate],
) -> tuple[Pattern, ...]:
    """Both formats of every template (all of one kind) and the numbers their rows need."""
    patterns = []
    for t in templates:
        if isinstance(t, UsageTemplate):
            c, a, b = t.doc.compile(USAGE_SLOTS), t.price_micro, t.usd_price_micro
        else:
            c, a, b = t.doc.compile(RECON_SLOTS), t.seat_cents, t.customer.tax_bp
        patterns.append(
            Pattern(c.full, c.basic, c.full_args, c.basic_args, t.customer.customer_id, a, b)
        )
    return tuple(patterns)


def python_rows(lines: Lines, batch: int, sums: list[int]) -> Iterator[list[Row]]:
    """Every row of ``lines`` in batches; adds the rows' totals to ``sums[0]`` (reconciliation
    ``Total`` in cents, usage ``BillingPreTaxTotal`` in 10**-6)."""
    if lines.scope.dataset.usage:
        return _usage_rows(lines, batch, sums)
    return _recon_rows(lines, batch, sums)


def write_python_rows(conn: sa.Connection, lines: Lines, batch: int) -> int:
    """Store every row of ``lines`` rendered here; returns the sum of their ``Total`` in
    cents (reconciliation; 0 for usage)."""
    sums = [0]
    loading.write_line_items(conn, python_rows(lines, batch, sums))
    return 0 if lines.scope.dataset.usage else sums[0]


def _compiled(lines: Lines) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (p.full, p.basic, picker(p.full_args), picker(p.basic_args), p.customer_id, p.a, p.b)
        for p in lines.patterns
    ]


def _recon_rows(lines: Lines, batch: int, sums: list[int]) -> Iterator[list[Row]]:
    compiled = _compiled(lines)
    days = lines.scope.days()
    ndays, npatterns = len(days), len(compiled)
    head = lines.scope.head()
    invoice, start, end = lines.scope.texts()
    x, y = seed_halves(lines.seed)  # the Weyl counters of draws.draw, stepped per row
    total_cents = 0
    done = 0
    while done < lines.count:
        size = min(batch, lines.count - done)
        rows: list[Row] = []
        append = rows.append
        for _ in range(size):
            h1, h2 = mix(x), mix(y)
            x, y = (x + WEYL) & MASK, (y + WEYL) & MASK
            full, basic, pick_full, pick_basic, customer, seat, tax_bp = compiled[h1 % npatterns]
            kind = h2 & 7
            day = days[0] if kind < CYCLE_KINDS else days[(h1 >> 16) % ndays]
            quantity = 1 + ((h2 >> 3) & 63)
            sub = seat * quantity
            tax = (sub * tax_bp + 5_000) // 10_000
            total = sub + tax
            total_cents += total
            whole, cents = divmod(total, 100)
            args = (day, CHARGE_BYTES[kind], quantity, sub // 100, sub % 100, tax // 100,
                    tax % 100, whole, cents, day, quantity, invoice, end, start)  # fmt: skip
            append((*head, customer, CHARGE_TYPES[kind], "%d.%02d" % (whole, cents), 0,
                    full % pick_full(args), basic % pick_basic(args)))  # fmt: skip
        done += size
        yield rows
    sums[0] += total_cents


def _usage_rows(lines: Lines, batch: int, sums: list[int]) -> Iterator[list[Row]]:
    compiled = _compiled(lines)
    days = lines.scope.days()
    ndays, npatterns = len(days), len(compiled)
    head = lines.scope.head()
    invoice, start, end = lines.scope.texts()
    x, y = seed_halves(lines.seed)
    total_micro = 0
    done = 0
    while done < lines.count:
        size = min(batch, lines.count - done)
        rows: list[Row] = []
        append = rows.append
        for _ in range(size):
            h1, h2 = mix(x), mix(y)
            x, y = (x + WEYL) & MASK, (y + WEYL) & MASK
            full, basic, pick_full, pick_basic, customer, price, usd_price = compiled[
                h1 % npatterns
            ]
            quantity = 1 + (h2 & USAGE_QUANTITY)
            billing = (quantity * price + 500_000) // 1_000_000
            pricing = (quantity * usd_price + 500_000) // 1_000_000
            total_micro += billing
            whole, fraction = divmod(billing, 1_000_000)
            args = (days[(h1 >> 16) % ndays], quantity // 1_000_000, quantity % 1_000_000,
                    whole, fraction, pricing // 1_000_000, pricing % 1_000_000, invoice, start,
                    end)  # fmt: skip
            append((*head, customer, "new", "%d.%06d" % (whole, fraction), 0,
                    full % pick_full(args), basic % pick_basic(args)))  # fmt: skip
        done += size
        yield rows
    sums[0] += total_micro
