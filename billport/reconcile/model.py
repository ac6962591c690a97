"""What a reconciliation found: totals per currency, breakdowns, and the lines that disagree."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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


@dataclass(frozen=True)
class LineIssue:
    """A line item that breaks an identity the data should satisfy.

    ``severity`` is ``error`` for identities that hold in every reconciliation file
    (Total = Subtotal + TaxTotal, the invoice number) and ``warning`` for the price check
    (EffectiveUnitPrice x BillableQuantity = Subtotal), which proration and rounding rules
    of real data can bend; warnings do not fail the reconciliation.
    """

    line: int  # 1-based position among the rows given
    customer_id: str
    customer_name: str
    charge_type: str
    currency: str
    check: str
    expected: Decimal | str
    actual: Decimal | str
    severity: str  # "error" | "warning"

    @property
    def difference(self) -> Decimal | None:
        if isinstance(self.expected, Decimal) and isinstance(self.actual, Decimal):
            return self.actual - self.expected
        return None

    def describe(self) -> str:
        who = (
            f"{self.customer_name} ({self.customer_id})"
            if self.customer_name
            else (self.customer_id or "unknown customer")
        )
        text = f"line {self.line}, customer {who}, {self.charge_type or 'no charge type'}: "
        text += f"{self.check}: expected {self.expected}, found {self.actual}"
        if (diff := self.difference) is not None:
            text += f" (off by {diff:+} {self.currency})"
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

    def findings(self) -> list[str]:
        """Sentences naming where each difference sits (empty when everything agrees)."""
        out = []
        for c in self.currencies:
            if not c.ok:
                out.append(
                    f"{c.currency}: line items total {c.lines_total}, invoice totalCharges "
                    f"{c.invoice_total}, difference {c.difference:+} "
                    f"(tolerance {c.tolerance})"
                )
        out += [issue.describe() for issue in self.issues]
        if self.issues_total > len(self.issues):
            out.append(f"... and {self.issues_total - len(self.issues)} more line issues")
        return out
