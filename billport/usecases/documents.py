"""Invoice documents: the statement PDF of an invoice and of each of its tax receipts.

Both are rendered from the invoice's own stored data: the invoice (with its amendments), the
partner, and the invoice's billed reconciliation lines totalled per customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billport.billing.statements import customer_totals
from billport.errors import NotFound
from billport.store import statements as store
from billport.store.db import Database
from billport.usecases.invoices import get_invoice
from billport.usecases.statement_pdf import Statement, render_statement


@dataclass(frozen=True)
class Document:
    """A rendered PDF and the file name it is offered under."""

    filename: str
    content: bytes


def load_statement(
    db: Database, tenant_id: str, raw_id: str, now: datetime, receipt_id: str | None = None
) -> Statement:
    """The statement data of an invoice (bare or prefixed id); ``NotFound`` otherwise.

    With ``receipt_id``, the receipt must be one the invoice lists in ``taxReceipts``.
    """
    invoice = get_invoice(db, tenant_id, raw_id)
    if receipt_id is not None and receipt_id not in invoice.tax_receipts:
        raise NotFound(f"Tax receipt '{receipt_id[:100]}' of invoice '{raw_id}' was not found.")
    with db.connect() as conn:
        partner = store.select_partner(conn, tenant_id)
        names = store.select_customer_names(conn, tenant_id)
        rows = store.stream_line_totals(conn, tenant_id, invoice.invoice_id)
        totals = customer_totals(rows, names)
    if partner is None:  # the token named a partner that was removed meanwhile
        raise NotFound(f"Invoice '{raw_id}' was not found.")
    return Statement(invoice, partner, totals, now, receipt_id)


def invoice_statement(db: Database, tenant_id: str, raw_id: str, now: datetime) -> Document:
    """``Invoice_{id}.pdf``: the invoice statement."""
    statement = load_statement(db, tenant_id, raw_id, now)
    return Document(f"Invoice_{statement.invoice.invoice_id}.pdf", render_statement(statement))


def receipt_statement(
    db: Database, tenant_id: str, raw_id: str, receipt_id: str, now: datetime
) -> Document:
    """``E-Tax-{receiptId}.pdf``: the tax receipt of one of the invoice's receipts."""
    statement = load_statement(db, tenant_id, raw_id, now, receipt_id)
    return Document(f"E-Tax-{receipt_id}.pdf", render_statement(statement))
