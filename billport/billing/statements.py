"""Totals behind the invoice documents: per customer on a statement, per currency in summaries.

Pure: the store hands over rows and invoices, these functions add them up as Decimals (never
through the database's floating-point ``SUM``, which SQLite would round).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billport.billing.invoices import Invoice

# Summary details come in this order (the documentation sample's), other types after them.
INVOICE_TYPE_ORDER = ("Recurring", "OneTime")


@dataclass(frozen=True)
class CustomerTotal:
    """One customer's share of an invoice: its billed reconciliation lines and their ``Total``."""

    customer_id: str
    customer_name: str
    lines: int
    total: Decimal


def customer_totals(
    rows: Iterable[tuple[str, Decimal]], names: Mapping[str, str]
) -> list[CustomerTotal]:
    """``(customer_id, Total)`` rows grouped per customer, ordered by name then id.

    A customer the store does not know (rows imported without one) is named by its id.
    """
    sums: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for customer_id, total in rows:
        sums[customer_id] = sums.get(customer_id, Decimal(0)) + total
        counts[customer_id] = counts.get(customer_id, 0) + 1
    totals = [
        CustomerTotal(cid, names.get(cid, cid), counts[cid], amount) for cid, amount in sums.items()
    ]
    return sorted(totals, key=lambda t: (t.customer_name.casefold(), t.customer_id))


@dataclass(frozen=True)
class Summary:
    """The account in one currency (``InvoiceSummary``), overall or for one invoice type.

    billport keeps no payment records, only each invoice's ``paidAmount``: the last payment is
    the newest invoice's non-zero ``paidAmount``, and its date is unknown (``None``).
    """

    currency_code: str
    currency_symbol: str
    balance: Decimal  # sum of totalCharges - paidAmount: what is still unpaid
    first_invoice_date: datetime
    latest_invoice_date: datetime
    last_payment_amount: Decimal
    invoice_types: tuple[str, ...]  # types present, in INVOICE_TYPE_ORDER
    details: tuple[tuple[str, Summary], ...] = ()


def _type_rank(invoice_type: str) -> tuple[int, str]:
    known = invoice_type in INVOICE_TYPE_ORDER
    return (
        INVOICE_TYPE_ORDER.index(invoice_type) if known else len(INVOICE_TYPE_ORDER),
        invoice_type,
    )


def _summary(documents: list[Invoice], *, with_details: bool) -> Summary:
    ordered = sorted(documents, key=lambda d: (d.invoice_date, d.invoice_id))
    paid = [d for d in ordered if d.paid_amount]
    types = tuple(sorted({d.invoice_type for d in ordered}, key=_type_rank))
    details: tuple[tuple[str, Summary], ...] = ()
    if with_details:
        details = tuple(
            (kind, _summary([d for d in ordered if d.invoice_type == kind], with_details=False))
            for kind in types
        )
    return Summary(
        currency_code=ordered[0].currency_code,
        currency_symbol=ordered[0].currency_symbol,
        balance=sum((d.total_charges - d.paid_amount for d in ordered), Decimal(0)),
        first_invoice_date=ordered[0].invoice_date,
        latest_invoice_date=ordered[-1].invoice_date,
        last_payment_amount=paid[-1].paid_amount if paid else Decimal(0),
        invoice_types=types,
        details=details,
    )


def summarize(documents: Iterable[Invoice]) -> list[Summary]:
    """One summary per currency over every document (invoices and their amendments).

    Ordered by first invoice date, then currency code: the account's original currency first,
    which is also what the single ``GET /v1/invoices/summary`` returns.
    """
    by_currency: dict[str, list[Invoice]] = {}
    for document in documents:
        by_currency.setdefault(document.currency_code, []).append(document)
    summaries = [_summary(group, with_details=True) for group in by_currency.values()]
    return sorted(summaries, key=lambda s: (s.first_invoice_date, s.currency_code))
