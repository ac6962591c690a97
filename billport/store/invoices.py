"""Invoice read queries. One function per statement; filters become SQL, never Python loops."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from billport.billing.invoices import (
    LEGACY,
    MODERN,
    Bound,
    Condition,
    Invoice,
    Logical,
    Predicate,
    invoice_details_from_json,
    tax_receipts_from_json,
)
from billport.store.tables import invoices

# Amendments are fetched by parent id; chunks keep IN lists far below SQLite's
# bound-parameter limit whatever the number of modern invoices.
AMENDMENT_CHUNK = 500

_ORDER = (invoices.c.invoice_date, invoices.c.invoice_id)

_OPERATORS = {
    Bound.EQ: lambda column, value: column == value,
    Bound.NE: lambda column, value: column != value,
    Bound.GT: lambda column, value: column > value,
    Bound.GE: lambda column, value: column >= value,
    Bound.LT: lambda column, value: column < value,
    Bound.LE: lambda column, value: column <= value,
}


def predicate_clause(predicate: Predicate) -> sa.ColumnElement[bool]:
    """The SQL form of a lowered filter, over ``invoices.invoice_date``."""
    if isinstance(predicate, Condition):
        clause: sa.ColumnElement[bool] = _OPERATORS[predicate.bound](
            invoices.c.invoice_date, predicate.instant
        )
        return clause
    parts = [predicate_clause(part) for part in predicate.parts]
    return sa.and_(*parts) if predicate.operator is Logical.AND else sa.or_(*parts)


def _invoice(row: sa.Row) -> Invoice:  # type: ignore[type-arg]
    return Invoice(
        invoice_id=row.invoice_id,
        invoice_date=row.invoice_date,
        billing_period_start=row.billing_period_start,
        billing_period_end=row.billing_period_end,
        total_charges=row.total_charges,
        paid_amount=row.paid_amount,
        currency_code=row.currency_code,
        currency_symbol=row.currency_symbol,
        document_type=row.document_type,
        invoice_type=row.invoice_type,
        commerce=row.commerce,
        amends_of=row.amends_of,
        details=invoice_details_from_json(row.details),
        tax_receipts=tax_receipts_from_json(row.tax_receipts),
    )


def _top_level(
    commerce: str, predicate: Predicate | None, invoice_type: str | None = None
) -> sa.Select:  # type: ignore[type-arg]
    """Top-level invoices of the ``tenant`` parameter (of ``invoice_type`` when given),
    ordered by date then id."""
    query = sa.select(invoices).where(
        invoices.c.tenant_id == sa.bindparam("tenant"),
        invoices.c.commerce == commerce,
        invoices.c.amends_of.is_(None),
    )
    if predicate is not None:
        query = query.where(predicate_clause(predicate))
    if invoice_type is not None:
        query = query.where(invoices.c.invoice_type == invoice_type)
    return query.order_by(*_ORDER)


# The unfiltered list (most calls) runs statements built once: SQLAlchemy then finds their
# compiled form without computing a cache key, about half the cost of each query.
_LEGACY_PAGE = _top_level(LEGACY, None).limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
_MODERN = _top_level(MODERN, None)
_AMENDMENTS = (
    sa.select(invoices)
    .where(
        invoices.c.tenant_id == sa.bindparam("tenant"),
        invoices.c.amends_of.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(*_ORDER)
)


def select_legacy_page(
    conn: sa.Connection,
    tenant_id: str,
    predicate: Predicate | None,
    *,
    limit: int,
    offset: int,
    invoice_type: str | None = None,
) -> list[Invoice]:
    """Top-level legacy invoices matching ``predicate`` (and ``invoice_type``), ordered by
    date then id, one page."""
    query = (
        _LEGACY_PAGE
        if predicate is None and invoice_type is None
        else _top_level(LEGACY, predicate, invoice_type)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    rows = conn.execute(query, {"tenant": tenant_id, "limit": limit, "offset": offset})
    return [_invoice(row) for row in rows]


def select_modern(
    conn: sa.Connection,
    tenant_id: str,
    predicate: Predicate | None,
    invoice_type: str | None = None,
) -> list[Invoice]:
    """Every top-level modern invoice matching ``predicate`` (and ``invoice_type``), ordered
    by date then id."""
    unfiltered = predicate is None and invoice_type is None
    query = _MODERN if unfiltered else _top_level(MODERN, predicate, invoice_type)
    return [_invoice(row) for row in conn.execute(query, {"tenant": tenant_id})]


def select_amendments(
    conn: sa.Connection, tenant_id: str, parent_ids: Iterable[str]
) -> dict[str, list[Invoice]]:
    """Amendments of the given invoices, grouped by the id they amend, ordered by date then id."""
    grouped: dict[str, list[Invoice]] = {}
    ids: Sequence[str] = list(parent_ids)
    for start in range(0, len(ids), AMENDMENT_CHUNK):
        chunk = {"tenant": tenant_id, "ids": list(ids[start : start + AMENDMENT_CHUNK])}
        for row in conn.execute(_AMENDMENTS, chunk):
            grouped.setdefault(row.amends_of, []).append(_invoice(row))
    return grouped


def select_invoice(conn: sa.Connection, tenant_id: str, invoice_id: str) -> Invoice | None:
    """One invoice (or amendment) of ``tenant_id`` by its bare id."""
    query = sa.select(invoices).where(
        invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
    )
    row = conn.execute(query).first()
    return None if row is None else _invoice(row)
