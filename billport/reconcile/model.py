"""What a reconciliation found: totals per currency, breakdowns, and the lines that disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from billport.reconcile.money import format_money

_ISO_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


def day(value: str) -> str:
    """The date an ISO-8601 instant was written with: ``2024-10-01T18:45:44Z`` ->
    ``2024-10-01`` (invoice and charge dates are days); any other text unchanged."""
    match = _ISO_DAY.match(value.strip())
    return match.group(1) if match else value.strip()


@dataclass(frozen=True)
class CurrencyTotal:
    """The invoice's ``totalCharges`` against the sum of the line items' ``Total``."""

    currency: str
    invoice_total: Decimal  # 0 for a currency the invoice is not in
    lines_total: Decimal
    lines: int
    tolerance: Decimal

    @property
    def difference(self) -> Decimal:
        """Line items minus invoice: positive when the lines add up to more."""
        return self.lines_total - self.invoice_total

    @property
    def ok(self) -> bool:
        return abs(self.difference) <= self.tolerance


@dataclass(frozen=True)
class Share:
    """One slice of a breakdown: a customer or a charge type, in one currency."""

    key: str  # customer id or charge type
    label: str  # customer name (or the charge type again)
    currency: str
    total: Decimal
    lines: int
    flagged: int = 0  # lines of this slice with an error-level issue
    flagged_total: Decimal = Decimal(0)  # the sum of those lines' Total


@dataclass(frozen=True)
class LineIdentity:
    """What names a reconciliation line for a finance user: the fields its row carries."""

    invoice: str  # the line's InvoiceNumber, else the reconciled invoice's id
    customer_id: str = ""
    customer_name: str = ""
    subscription_id: str = ""
    order_id: str = ""
    product_id: str = ""
    sku_id: str = ""
    sku_name: str = ""
    charge_type: str = ""
    charge_start: str = ""  # as the row has it (ISO instant); :func:`day` shows it
    charge_end: str = ""

    def describe(self) -> str:
        """``invoice G1, customer Contoso (c-1), subscription s-1, order o-1, ...``."""
        who = self.customer_id or "unknown"
        if self.customer_name:
            who = (
                f"{self.customer_name} ({self.customer_id})"
                if self.customer_id
                else self.customer_name
            )
        parts = [f"invoice {self.invoice or 'unknown'}", f"customer {who}"]
        if self.subscription_id:
            parts.append(f"subscription {self.subscription_id}")
        if self.order_id:
            parts.append(f"order {self.order_id}")
        product = " ".join(
            text
            for text in (
                f"product {self.product_id}" if self.product_id else "",
                f"SKU {self.sku_id}" if self.sku_id else "",
                f'"{self.sku_name}"' if self.sku_name else "",
            )
            if text
        )
        if product:
            parts.append(product)
        if self.charge_start or self.charge_end:
            start, end = day(self.charge_start) or "?", day(self.charge_end) or "?"
            parts.append(f"charged {start} to {end}")
        parts.append(self.charge_type or "no charge type")
        return ", ".join(parts)


@dataclass(frozen=True)
class LineIssue:
    """A line item that breaks an identity the data should satisfy.

    ``severity`` is ``error`` for identities that hold in every reconciliation file
    (Total = Subtotal + TaxTotal, the invoice number) and ``warning`` for the price check
    (EffectiveUnitPrice x BillableQuantity = Subtotal), which proration and rounding rules
    of real data can bend; warnings do not fail the reconciliation.
    """

    line: int  # 1-based position among the rows given (changes with every export)
    identity: LineIdentity
    currency: str
    check: str
    expected: Decimal | str
    actual: Decimal | str
    severity: str  # "error" | "warning"

    @property
    def customer_id(self) -> str:
        return self.identity.customer_id

    @property
    def customer_name(self) -> str:
        return self.identity.customer_name

    @property
    def charge_type(self) -> str:
        return self.identity.charge_type

    @property
    def difference(self) -> Decimal | None:
        if isinstance(self.expected, Decimal) and isinstance(self.actual, Decimal):
            return self.actual - self.expected
        return None

    def shown(self, value: Decimal | str) -> str:
        """An expected or found value: money in the line's currency, other text as is."""
        return format_money(value, self.currency) if isinstance(value, Decimal) else value

    def describe(self) -> str:
        text = f"{self.identity.describe()}: {self.check}: "
        text += f"expected {self.shown(self.expected)}, found {self.shown(self.actual)}"
        if (diff := self.difference) is not None:
            text += f" (off by {format_money(diff, self.currency, signed=True)})"
        return text


@dataclass(frozen=True)
class Reconciliation:
    invoice_id: str
    invoice_currency: str
    tolerance: Decimal
    rows: int
    currencies: tuple[CurrencyTotal, ...]
    by_customer: tuple[Share, ...]
    by_charge_type: tuple[Share, ...]
    issues: tuple[LineIssue, ...]
    issues_total: int  # issues found, including those beyond the kept list
    invoice_date: str = ""  # the invoice's invoiceDate, as the service wrote it
    period_start: str = ""  # billingPeriodStartDate / EndDate
    period_end: str = ""
    partner_id: str = ""  # the lines' PartnerId: the partner's tenant

    @property
    def errors(self) -> tuple[LineIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[LineIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        """Every currency within tolerance and no line breaks an exact identity."""
        return all(c.ok for c in self.currencies) and not self.errors

    @property
    def billing_period(self) -> str:
        """``2024-09-01 to 2024-09-30`` (empty when the invoice has none)."""
        if not (self.period_start or self.period_end):
            return ""
        return f"{day(self.period_start) or '?'} to {day(self.period_end) or '?'}"

    def currency_findings(self) -> list[str]:
        """One sentence per currency outside the tolerance."""
        return [
            f"{c.currency}: line items total {format_money(c.lines_total, c.currency)}, "
            f"invoice totalCharges {format_money(c.invoice_total, c.currency)}, "
            f"difference {format_money(c.difference, c.currency, signed=True)} "
            f"(tolerance {format_money(c.tolerance, c.currency)})"
            for c in self.currencies
            if not c.ok
        ]

    def findings(self) -> list[str]:
        """Sentences naming where each difference sits (empty when everything agrees)."""
        out = self.currency_findings()
        out += [issue.describe() for issue in self.issues]
        if self.issues_total > len(self.issues):
            out.append(f"... and {self.issues_total - len(self.issues)} more line issues")
        return out
