"""Reconcile an invoice's ``totalCharges`` with its billed reconciliation line items.

A total that disagrees says *that* something is off; the per-line identities say *where*:

- ``Total = Subtotal + TaxTotal`` (error): holds for every line of a reconciliation file,
  amounts being cents; a difference over half a cent cannot come from rounding.
- ``InvoiceNumber`` equals the invoice id (error), when the line has one.
- ``Subtotal = EffectiveUnitPrice x BillableQuantity`` (``Quantity`` when there is no
  ``BillableQuantity``), within a cent or exactly by Microsoft's published ``ROUNDDOWN``
  rules (:mod:`billport.billing.rounding`, which the seeded data follows) (warning): real
  files bend it with proration rules, so it only informs.

So a line item whose ``Total`` was altered is named with its customer, and the customer and
charge-type breakdowns show which slice carries the difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.fieldnames import key_map
from billport.billing.rounding import subtotal_by_rule
from billport.reconcile.model import (
    CurrencyTotal,
    LineIdentity,
    LineIssue,
    Reconciliation,
    Share,
)
from billport.reconcile.money import minor_units

DEFAULT_TOLERANCE = Decimal("0.01")
LINE_TOLERANCE = Decimal("0.005")  # half a cent: more cannot come from rounding cents
PRICE_TOLERANCE = Decimal("0.01")
MAX_ISSUES = 100  # issues kept in the report; the count covers all of them
# The identity of a line as a finance user names it (LineIdentity's fields, in order).
IDENTITY = ("CustomerId", "CustomerName", "SubscriptionId", "OrderId", "ProductId", "SkuId",
            "SkuName", "ChargeType", "ChargeStartDate", "ChargeEndDate")  # fmt: skip
# The fields a reconciliation reads; the others of a row are never touched.
NEEDED = frozenset(
    {"Currency", "InvoiceNumber", "Total", "Subtotal", "TaxTotal", "EffectiveUnitPrice",
     "BillableQuantity", "Quantity", "PartnerId", "PCToBCExchangeRate", "MeterDescription",
     "TermAndBillingCycle", *IDENTITY}
)  # fmt: skip


def amount(value: Any) -> Decimal | None:
    """A JSON amount as an exact Decimal (floats through their shortest repr)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _invoice_fields(invoice: Mapping[str, Any]) -> tuple[str, str, Decimal]:
    lower = _lower(invoice)
    invoice_id = str(lower.get("id") or "")
    currency = str(lower.get("currencycode") or "").upper()
    total = amount(lower.get("totalcharges"))
    if not currency or total is None:
        raise ValueError("the invoice needs a numeric totalCharges and a currencyCode")
    return invoice_id, currency, total


def _lower(invoice: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in invoice.items()}


class _Slot:
    """One slice's running sums: all its lines, and those with an error."""

    __slots__ = ("total", "lines", "label", "flagged", "flagged_total")

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.lines = 0
        self.label = ""
        self.flagged = 0
        self.flagged_total = Decimal(0)

    def add(self, total: Decimal, label: str, flagged: bool) -> None:
        self.total += total
        self.lines += 1
        self.label = self.label or label
        if flagged:
            self.flagged += 1
            self.flagged_total += total

    def share(self, key: str, label: str, currency: str) -> Share:
        return Share(key, label, currency, self.total, self.lines, self.flagged,
                     self.flagged_total)  # fmt: skip


class _Tally:
    """Running sums per currency, customer and charge type; the issues found."""

    def __init__(self) -> None:
        self.currency: dict[str, _Slot] = defaultdict(_Slot)
        self.customer: dict[tuple[str, str], _Slot] = defaultdict(_Slot)
        self.charge: dict[tuple[str, str], _Slot] = defaultdict(_Slot)
        self.issues: list[LineIssue] = []
        self.count = 0
        self.partner_id = ""

    def add(self, currency: str, row: Mapping[str, Any], total: Decimal, flagged: bool) -> None:
        customer = str(row.get("CustomerId") or "")
        charge = str(row.get("ChargeType") or "")
        self.currency[currency].add(total, "", flagged)
        self.customer[(currency, customer)].add(total, str(row.get("CustomerName") or ""), flagged)
        self.charge[(currency, charge)].add(total, "", flagged)
        self.partner_id = self.partner_id or str(row.get("PartnerId") or "")


def _identity(row: Mapping[str, Any], invoice_id: str) -> LineIdentity:
    return LineIdentity(
        str(row.get("InvoiceNumber") or invoice_id),
        *(str(row.get(name) or "") for name in IDENTITY),
    )


def _line_issues(
    number: int, row: Mapping[str, Any], invoice_id: str, currency: str
) -> list[LineIssue]:
    def issue(check: str, expected: Any, actual: Any, severity: str = "error") -> LineIssue:
        identity = _identity(row, invoice_id)
        return LineIssue(number, identity, currency, check, expected, actual, severity)

    out = []
    total = amount(row.get("Total"))
    if total is None:
        return [issue("Total is a number", "a decimal", repr(row.get("Total")))]
    number_on_line = str(row.get("InvoiceNumber") or "")
    if number_on_line and invoice_id and number_on_line != invoice_id:
        out.append(issue("InvoiceNumber is the invoice", invoice_id, number_on_line))
    subtotal, tax = amount(row.get("Subtotal")), amount(row.get("TaxTotal"))
    if subtotal is not None and tax is not None and abs(subtotal + tax - total) > LINE_TOLERANCE:
        out.append(issue("Total = Subtotal + TaxTotal", subtotal + tax, total))
    price = amount(row.get("EffectiveUnitPrice"))
    quantity = amount(row.get("BillableQuantity"))
    if quantity is None:
        quantity = amount(row.get("Quantity"))
    if price is not None and quantity is not None and subtotal is not None:
        expected = price * quantity
        off = abs(expected - subtotal) > PRICE_TOLERANCE
        if off and not _by_rule(row, price, quantity, subtotal):
            # Shown rounded down to the currency's places, as Partner Center rounds (spec 1.6).
            places = Decimal(1).scaleb(-minor_units(currency))
            shown = expected.quantize(places, rounding=ROUND_DOWN)
            check = "Subtotal = EffectiveUnitPrice x BillableQuantity"
            out.append(issue(check, shown, subtotal, "warning"))
    return out


def _by_rule(row: Mapping[str, Any], price: Decimal, quantity: Decimal, subtotal: Decimal) -> bool:
    """Whether ``subtotal`` is what Microsoft's published rule gives (seat-based rows round
    the unit price down first: up to a cent a seat below ``price x quantity``)."""
    rate = amount(row.get("PCToBCExchangeRate"))
    return subtotal == subtotal_by_rule(row, price, quantity, Decimal(1) if rate is None else rate)


def reconcile(
    invoice: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> Reconciliation:
    """Compare ``invoice`` (Partner Center invoice JSON) with its billed reconciliation rows.

    ``rows`` are line items with keys in any spelling (``fieldnames``) and amounts as
    Decimal, int, str or float. Totals are compared per currency: the invoice's
    ``totalCharges`` counts for its ``currencyCode``, every other currency of the lines
    should sum to zero. A line without ``Currency`` counts in the invoice currency.
    """
    if tolerance < 0:
        raise ValueError("the tolerance cannot be negative")
    invoice_id, invoice_currency, invoice_total = _invoice_fields(invoice)
    tally = _Tally()
    # Rows of one export share their keys: resolve each distinct key tuple once.
    spellings: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for number, raw in enumerate(rows, 1):
        keys = tuple(raw)
        wanted = spellings.get(keys)
        if wanted is None:
            names = key_map(keys, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
            wanted = spellings[keys] = [(n, k) for k, n in names.items() if n in NEEDED]
        row = {name: raw[key] for name, key in wanted}
        currency = str(row.get("Currency") or invoice_currency).upper()
        issues = _line_issues(number, row, invoice_id, currency)
        tally.issues += issues
        total = amount(row.get("Total"))
        flagged = any(i.severity == "error" for i in issues)
        tally.add(currency, row, total if total is not None else Decimal(0), flagged)
        tally.count = number
    return _report(invoice_id, invoice_currency, invoice_total, tolerance, tally, _header(invoice))


def _header(invoice: Mapping[str, Any]) -> dict[str, str]:
    """The invoice's dates for the report's header, as the service wrote them."""
    lower = _lower(invoice)
    keys = ("invoicedate", "billingperiodstartdate", "billingperiodenddate")
    return {key: str(lower.get(key) or "") for key in keys}


def _report(
    invoice_id: str,
    currency: str,
    invoice_total: Decimal,
    tolerance: Decimal,
    tally: _Tally,
    header: dict[str, str],
) -> Reconciliation:
    codes = sorted(set(tally.currency) | {currency}, key=lambda c: (c != currency, c))
    currencies = tuple(
        CurrencyTotal(
            code,
            invoice_total if code == currency else Decimal(0),
            tally.currency[code].total if code in tally.currency else Decimal(0),
            tally.currency[code].lines if code in tally.currency else 0,
            tolerance,
        )
        for code in codes
    )
    customers = [
        slot.share(cid, slot.label or cid, cur) for (cur, cid), slot in tally.customer.items()
    ]
    charges = [
        slot.share(kind, kind or "(none)", cur) for (cur, kind), slot in tally.charge.items()
    ]
    order = {code: i for i, code in enumerate(codes)}

    def rank(share: Share) -> tuple[int, int, Decimal, str]:
        return (order[share.currency], -share.flagged, -abs(share.total), share.key)

    issues = sorted(tally.issues, key=lambda i: (i.severity != "error", i.line))
    return Reconciliation(
        invoice_id=invoice_id,
        invoice_currency=currency,
        tolerance=tolerance,
        rows=tally.count,
        currencies=currencies,
        by_customer=tuple(sorted(customers, key=rank)),
        by_charge_type=tuple(sorted(charges, key=rank)),
        issues=tuple(issues[:MAX_ISSUES]),
        issues_total=len(issues),
        invoice_date=header["invoicedate"],
        period_start=header["billingperiodstartdate"],
        period_end=header["billingperiodenddate"],
        partner_id=tally.partner_id,
    )
