"""Partners, customers and invoices: the small, deterministic part of a synthetic dataset."""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billport.seed import catalog

MODERN_DETAILS = json.dumps(
    [
        {"invoiceLineItemType": "billing_line_items", "billingProvider": "one_time"},
        {"invoiceLineItemType": "usage_line_items", "billingProvider": "marketplace"},
    ],
    separators=(",", ":"),
)


def legacy_details(provider: str) -> str:
    return json.dumps(
        [{"invoiceLineItemType": "billing_line_items", "billingProvider": provider}],
        separators=(",", ":"),
    )


def new_guid(rng: random.Random) -> str:
    """A version-4 GUID drawn from ``rng`` (deterministic, unlike uuid4)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Period:
    """A calendar-month billing period."""

    month: int  # yyyymm

    @property
    def start(self) -> datetime:
        return datetime(self.month // 100, self.month % 100, 1, tzinfo=UTC)

    @property
    def next_start(self) -> datetime:
        year, month = divmod(self.month, 100)
        return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The last day at midnight, as Partner Center writes ``billingPeriodEndDate``."""
        return self.next_start - timedelta(days=1)

    def shifted(self, months: int) -> Period:
        year, month = divmod(self.month, 100)
        index = year * 12 + month - 1 + months
        return Period((index // 12) * 100 + index % 12 + 1)

    @classmethod
    def of(cls, moment: datetime) -> Period:
        return cls(moment.year * 100 + moment.month)


@dataclass(frozen=True)
class Customer:
    tenant_id: str
    customer_id: str
    name: str
    domain_name: str
    country: str
    currency: str
    tax_bp: int  # tax rate in basis points
    tier2_mpn_id: str = ""


@dataclass(frozen=True)
class Partner:
    tenant_id: str
    name: str
    mpn_id: str
    domain_name: str
    country: str
    is_default: bool
    created_at: datetime
    currencies: tuple[str, ...]
    customers: tuple[Customer, ...] = ()


@dataclass
class Invoice:
    """An invoice row; ``total_charges`` of modern invoices is filled from their line items."""

    tenant_id: str
    invoice_id: str
    invoice_date: datetime
    period: Period
    currency: str
    commerce: str  # modern | legacy
    invoice_type: str  # OneTime | Recurring
    document_type: str = "invoice"
    total_charges: Decimal = Decimal("0.00")
    paid_amount: Decimal = Decimal("0")
    amends_of: str | None = None
    details: str = MODERN_DETAILS
    tax_receipts: str = "[]"
    line_cents: int = field(default=0, repr=False)  # running sum of billed Total, in cents

    def row(self) -> dict[str, object]:
        """The ``invoices`` table row."""
        return {
            "tenant_id": self.tenant_id,
            "invoice_id": self.invoice_id,
            "invoice_date": self.invoice_date,
            "billing_period_start": self.period.start,
            "billing_period_end": self.period.end,
            "total_charges": self.total_charges,
            "paid_amount": self.paid_amount,
            "currency_code": self.currency,
            "currency_symbol": catalog.SYMBOLS.get(self.currency, self.currency),
            "document_type": self.document_type,
            "invoice_type": self.invoice_type,
            "commerce": self.commerce,
            "amends_of": self.amends_of,
            "details": self.details,
            "tax_receipts": self.tax_receipts,
        }


def _company(rng: random.Random, used: set[str]) -> str:
    while True:
        stem = rng.choice(catalog.COMPANY_STEMS)
        name = f"{stem} {rng.choice(catalog.COMPANY_SUFFIXES)}"
        if name in used:
            name = f"{stem} {rng.choice(('Holdings', 'Group', 'Europe', 'North'))} {len(used)}"
        if name not in used:
            used.add(name)
            return name


def _domain(name: str) -> str:
    letters = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())
    return f"{letters[:24]}.onmicrosoft.com"


def make_customers(
    rng: random.Random, tenant_id: str, currencies: tuple[str, ...], count: int
) -> tuple[Customer, ...]:
    """``count`` customers spread over the partner's billing currencies."""
    used: set[str] = set()
    customers = []
    for index in range(count):
        currency = currencies[index % len(currencies)]
        countries = [c for c in catalog.COUNTRIES if c[1] == currency] or [catalog.COUNTRIES[0]]
        country, _, _, tax_bp = rng.choice(countries)
        name = _company(rng, used)
        tier2 = str(rng.randrange(1_000_000, 9_999_999)) if rng.random() < 0.3 else ""
        customer_id = new_guid(rng)
        customers.append(
            Customer(tenant_id, customer_id, name, _domain(name), country, currency, tax_bp, tier2)
        )
    return tuple(customers)


def make_partner(
    rng: random.Random,
    index: int,
    created_at: datetime,
    customers: int,
    tenant_id: str = "",
    currencies: tuple[str, ...] = (),
) -> Partner:
    """The ``index``-th partner tenant; the first one is the default."""
    name = catalog.PARTNER_NAMES[index % len(catalog.PARTNER_NAMES)]
    if index >= len(catalog.PARTNER_NAMES):
        name = f"{name} {index // len(catalog.PARTNER_NAMES) + 1}"
    country, home, _, _ = catalog.COUNTRIES[index % len(catalog.COUNTRIES)]
    currencies = currencies or ((home,) if home == "USD" else (home, "USD"))
    tenant_id = tenant_id or new_guid(rng)
    return Partner(
        tenant_id=tenant_id,
        name=name,
        mpn_id=str(rng.randrange(1_000_000, 9_999_999)),
        domain_name=_domain(name),
        country=country,
        is_default=index == 0,
        created_at=created_at,
        currencies=currencies,
        customers=make_customers(rng, tenant_id, currencies, customers),
    )


class InvoiceNumbers:
    """Unique invoice ids: modern ``G`` + 9 digits, legacy recurring ``D`` + 9 alphanumerics."""

    def __init__(self, rng: random.Random, taken: set[str] | None = None) -> None:
        self._rng = rng
        self._taken = set(taken or ())
        self._next = rng.randrange(10_000_000, 90_000_000)

    def modern(self) -> str:
        while True:
            self._next += self._rng.randrange(1, 400)
            candidate = f"G{self._next:09d}"
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate

    def legacy(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = "D0" + "".join(self._rng.choice(alphabet) for _ in range(8))
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate


def invoice_date(rng: random.Random, period: Period) -> datetime:
    """A few days after the period ends, at a random second."""
    return period.next_start + timedelta(days=rng.randrange(5, 10), seconds=rng.randrange(86_400))


def make_invoices(
    rng: random.Random, partner: Partner, periods: list[Period], numbers: InvoiceNumbers
) -> list[Invoice]:
    """Per period: one modern invoice per currency, one legacy recurring; now and then a
    legacy one-time invoice with an adjustment note."""
    invoices: list[Invoice] = []
    home = partner.currencies[0]
    for index, period in enumerate(periods):
        for currency in partner.currencies:
            receipts = f'["{rng.randrange(100_000, 999_999)}"]' if rng.random() < 0.3 else "[]"
            modern = Invoice(
                partner.tenant_id,
                numbers.modern(),
                invoice_date(rng, period),
                period,
                currency,
                "modern",
                "OneTime",
                tax_receipts=receipts,
            )
            invoices.append(modern)
        provider = rng.choice(("office", "azure"))
        total = Decimal(rng.randrange(50_000, 5_000_000)) / 100
        invoices.append(
            Invoice(
                partner.tenant_id,
                numbers.legacy(),
                invoice_date(rng, period),
                period,
                home,
                "legacy",
                "Recurring",
                total_charges=total,
                paid_amount=total if rng.random() < 0.7 else Decimal("0"),
                details=legacy_details(provider),
            )
        )
        if index % 4 == 1:
            invoices.extend(_legacy_onetime_pair(rng, partner.tenant_id, period, home, numbers))
    return invoices


def _legacy_onetime_pair(
    rng: random.Random, tenant_id: str, period: Period, currency: str, numbers: InvoiceNumbers
) -> list[Invoice]:
    """A legacy one-time invoice and the adjustment note that amends it."""
    total = Decimal(rng.randrange(100_000, 90_000_000)) / 100
    original = Invoice(
        tenant_id,
        numbers.modern(),
        invoice_date(rng, period),
        period,
        currency,
        "legacy",
        "OneTime",
        total_charges=total,
        details=legacy_details("one_time"),
        tax_receipts=f'["{rng.randrange(100_000, 999_999)}"]',
    )
    note = replace(
        original,
        invoice_id=numbers.modern(),
        document_type="adjustment_note",
        amends_of=original.invoice_id,
        tax_receipts="[]",
        invoice_date=original.invoice_date + timedelta(hours=rng.randrange(1, 48)),
        total_charges=-(total * rng.randrange(1, 30) / 100).quantize(Decimal("0.01")),
    )
    return [original, note]
