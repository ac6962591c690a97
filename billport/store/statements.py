"""Reads behind invoice statements and summaries. One function per statement."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.billing.invoices import Invoice
from billport.store.invoices import _invoice as invoice_from_row
from billport.store.tables import customers, invoices, line_items, partners

# Rows fetched per round trip when streaming an invoice's line totals.
TOTALS_BATCH = 10_000


@dataclass(frozen=True)
class PartnerInfo:
    """The partner as a statement names it."""

    tenant_id: str
    name: str
    mpn_id: str
    domain_name: str
    country: str


def select_partner(conn: sa.Connection, tenant_id: str) -> PartnerInfo | None:
    """The partner row of ``tenant_id``."""
    row = conn.execute(sa.select(partners).where(partners.c.tenant_id == tenant_id)).first()
    if row is None:
        return None
    return PartnerInfo(row.tenant_id, row.name, row.mpn_id, row.domain_name, row.country)


def select_documents(conn: sa.Connection, tenant_id: str) -> list[Invoice]:
    """Every invoice and amendment of ``tenant_id``, ordered by date then id."""
    query = (
        sa.select(invoices)
        .where(invoices.c.tenant_id == tenant_id)
        .order_by(invoices.c.invoice_date, invoices.c.invoice_id)
    )
    return [invoice_from_row(row) for row in conn.execute(query)]


def select_customer_names(conn: sa.Connection, tenant_id: str) -> dict[str, str]:
    """Customer id -> name for the tenant's customers."""
    query = sa.select(customers.c.customer_id, customers.c.name).where(
        customers.c.tenant_id == tenant_id
    )
    return {row.customer_id: row.name for row in conn.execute(query)}


def stream_line_totals(
    conn: sa.Connection, tenant_id: str, invoice_id: str
) -> Iterator[tuple[str, Decimal]]:
    """``(customer_id, Total)`` of every billed reconciliation line of the invoice.

    Only the two typed columns are read, never the documents; the sums are made in Python
    (see billport.billing.statements) because SQLite would add the text as floats.
    """
    query = sa.select(line_items.c.customer_id, line_items.c.total).where(
        line_items.c.tenant_id == tenant_id,
        line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
        line_items.c.invoice_id == invoice_id,
    )
    result = conn.execution_options(yield_per=TOTALS_BATCH).execute(query)
    for row in result:
        yield row.customer_id, row.total
