"""Store reads and writes behind resellers: who they are, the provider's markup rules, and
the provider rows a reseller's view is made from (on the caller's connection)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from billport.store.tables import (
    clients,
    customers,
    invoices,
    line_items,
    markup_rules,
    partners,
    resellers,
)

li = line_items.c
STREAM_ROWS = 2000
_STREAMED = {"stream_results": True, "yield_per": STREAM_ROWS}


@dataclass(frozen=True)
class Reseller:
    tenant_id: str
    provider_id: str
    name: str
    mpn_id: str
    customer_ids: tuple[str, ...]
    tier2_mpn_ids: tuple[str, ...]
    created_at: datetime | None = None

    def row(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "provider_id": self.provider_id,
            "name": self.name,
            "mpn_id": self.mpn_id,
            "customer_ids": json.dumps(list(self.customer_ids)),
            "tier2_mpn_ids": json.dumps(list(self.tier2_mpn_ids)),
            "created_at": self.created_at,
        }


def _reseller(row: Any) -> Reseller:
    return Reseller(
        row.tenant_id, row.provider_id, row.name, row.mpn_id,
        tuple(json.loads(row.customer_ids)), tuple(json.loads(row.tier2_mpn_ids)),
        row.created_at,
    )  # fmt: skip


def select_resellers(conn: sa.Connection, provider_id: str | None = None) -> list[Reseller]:
    query = sa.select(resellers).order_by(resellers.c.provider_id, resellers.c.name)
    if provider_id is not None:
        query = query.where(resellers.c.provider_id == provider_id)
    return [_reseller(row) for row in conn.execute(query)]


def select_reseller(conn: sa.Connection, tenant_id: str) -> Reseller | None:
    row = conn.execute(sa.select(resellers).where(resellers.c.tenant_id == tenant_id)).first()
    return None if row is None else _reseller(row)


def providers(conn: sa.Connection) -> list[str]:
    """The tenants that have resellers."""
    query = sa.select(resellers.c.provider_id).distinct().order_by(resellers.c.provider_id)
    return [row[0] for row in conn.execute(query)]


def insert_reseller(conn: sa.Connection, reseller: Reseller) -> None:
    conn.execute(resellers.insert(), [reseller.row()])


def update_reseller(conn: sa.Connection, reseller: Reseller) -> None:
    values = reseller.row()
    del values["created_at"], values["tenant_id"]
    conn.execute(
        resellers.update().where(resellers.c.tenant_id == reseller.tenant_id).values(**values)
    )


def update_partner_names(conn: sa.Connection, tenant_id: str, name: str, mpn_id: str) -> None:
    conn.execute(
        partners.update().where(partners.c.tenant_id == tenant_id).values(name=name, mpn_id=mpn_id)
    )


def delete_tenant_data(conn: sa.Connection, tenant_id: str) -> None:
    """A reseller's rows, invoices and customers (its view, rebuilt from the provider's)."""
    conn.execute(line_items.delete().where(li.tenant_id == tenant_id))
    conn.execute(invoices.delete().where(invoices.c.tenant_id == tenant_id))
    conn.execute(customers.delete().where(customers.c.tenant_id == tenant_id))


def delete_reseller(conn: sa.Connection, tenant_id: str) -> None:
    """The reseller, its view, its clients and its tenant (exports stay until they expire)."""
    delete_tenant_data(conn, tenant_id)
    conn.execute(resellers.delete().where(resellers.c.tenant_id == tenant_id))
    conn.execute(clients.delete().where(clients.c.tenant_id == tenant_id))
    conn.execute(partners.delete().where(partners.c.tenant_id == tenant_id))


def select_rules(conn: sa.Connection, provider_id: str) -> Any:
    """The provider's rules document (parsed JSON), None when it has none."""
    query = sa.select(markup_rules.c.document).where(markup_rules.c.provider_id == provider_id)
    text = conn.execute(query).scalar()
    return None if text is None else json.loads(text)


def store_rules(conn: sa.Connection, provider_id: str, document: Any, now: datetime) -> None:
    conn.execute(markup_rules.delete().where(markup_rules.c.provider_id == provider_id))
    conn.execute(
        markup_rules.insert().values(
            provider_id=provider_id, document=json.dumps(document), updated_at=now
        )
    )


def customer_tier2(conn: sa.Connection, provider_id: str) -> dict[str, str]:
    """customer id -> its reseller's MPN id as the provider's customers table says."""
    query = sa.select(customers.c.customer_id, customers.c.tier2_mpn_id).where(
        customers.c.tenant_id == provider_id, customers.c.tier2_mpn_id != ""
    )
    return {row.customer_id: row.tier2_mpn_id for row in conn.execute(query)}


def provider_rows(conn: sa.Connection, provider_id: str) -> Iterator[Any]:
    """Every stored row of the provider, in id order (streamed)."""
    query = (
        sa.select(li.dataset, li.invoice_id, li.billing_month, li.currency, li.customer_id,
                  li.charge_type, li.total, li.doc_full)
        .where(li.tenant_id == provider_id)
        .order_by(li.id)
    )  # fmt: skip
    yield from conn.execute(query, execution_options=_STREAMED)


def provider_docs(
    conn: sa.Connection, provider_id: str, datasets: list[int]
) -> Iterator[tuple[str, bytes]]:
    """``(customer_id, doc_full)`` of the provider's rows of ``datasets`` (streamed)."""
    query = sa.select(li.customer_id, li.doc_full).where(
        li.tenant_id == provider_id, li.dataset.in_(datasets)
    )
    for customer, doc in conn.execute(query, execution_options=_STREAMED):
        yield customer, bytes(doc)


def invoice_totals(
    conn: sa.Connection, tenant_id: str, invoice_id: str, dataset: int
) -> Iterator[tuple[str, Decimal, bytes]]:
    """``(customer_id, total, doc_full)`` of a tenant's rows of one billed invoice."""
    query = sa.select(li.customer_id, li.total, li.doc_full).where(
        li.tenant_id == tenant_id, li.dataset == dataset, li.invoice_id == invoice_id
    )
    for customer, total, doc in conn.execute(query, execution_options=_STREAMED):
        yield customer, Decimal(total), bytes(doc)


def customer_names(conn: sa.Connection, tenant_id: str) -> dict[str, str]:
    query = sa.select(customers.c.customer_id, customers.c.name).where(
        customers.c.tenant_id == tenant_id
    )
    return {row.customer_id: row.name for row in conn.execute(query)}


def tenant_scopes(conn: sa.Connection, tenant_id: str) -> list[Any]:
    """The distinct (dataset, invoice_id, billing_month, currency) of a tenant's rows."""
    query = (
        sa.select(li.dataset, li.invoice_id, li.billing_month, li.currency)
        .where(li.tenant_id == tenant_id)
        .distinct()
    )
    return list(conn.execute(query))


def invoice_rows(conn: sa.Connection, tenant_id: str) -> dict[str, dict[str, Any]]:
    """A tenant's invoice rows by id, as stored."""
    query = sa.select(invoices).where(invoices.c.tenant_id == tenant_id)
    return {row.invoice_id: dict(row._mapping) for row in conn.execute(query)}


def replace_invoice(conn: sa.Connection, row: Mapping[str, Any]) -> None:
    conn.execute(
        invoices.delete().where(
            invoices.c.tenant_id == row["tenant_id"], invoices.c.invoice_id == row["invoice_id"]
        )
    )
    conn.execute(invoices.insert(), [dict(row)])


def delete_invoice(conn: sa.Connection, tenant_id: str, invoice_id: str) -> None:
    conn.execute(
        invoices.delete().where(
            invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
        )
    )


def copy_customers(conn: sa.Connection, provider_id: str, tenant_id: str, ids: set[str]) -> int:
    """Replace the tenant's customers with the provider's customers of ``ids``."""
    conn.execute(customers.delete().where(customers.c.tenant_id == tenant_id))
    if not ids:
        return 0
    query = sa.select(customers).where(customers.c.tenant_id == provider_id)
    rows = [
        {**dict(row._mapping), "tenant_id": tenant_id}
        for row in conn.execute(query)
        if row.customer_id in ids
    ]
    if rows:
        conn.execute(customers.insert(), rows)
    return len(rows)
