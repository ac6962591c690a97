"""``billport seed --invoice ID``: add billed line items to one modern invoice of the default
tenant, keeping its ``total_charges`` equal to the sum of its reconciliation ``Total``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.errors import InvalidRequest
from billport.seed import catalog
from billport.seed.generator import (
    SeedOptions,
    build_partners,
    client_for,
    invoiced_periods,
    line_writer,
    write_reference,
)
from billport.seed.lines import Lines, Scope, compile_patterns
from billport.seed.pools import partner_pools
from billport.seed.world import Customer, Invoice, Partner, Period, invoice_date, make_customers
from billport.store import loading
from billport.store.clients import default_tenant_id
from billport.store.db import Database
from billport.store.tables import customers, invoices, line_items, partners

TAX_BP = {country: tax for country, _, _, tax in catalog.COUNTRIES}


@dataclass(frozen=True)
class AppendReport:
    tenant_id: str
    invoice_id: str
    created_invoice: bool
    added: dict[Dataset, int]
    total_charges: Decimal


def _partner(conn: sa.Connection, tenant_id: str, currency: str) -> Partner:
    """The stored partner with its customers, all billed in ``currency`` for this invoice."""
    p = conn.execute(sa.select(partners).where(partners.c.tenant_id == tenant_id)).one()
    rows = conn.execute(
        sa.select(customers).where(customers.c.tenant_id == tenant_id).order_by(customers.c.name)
    ).all()
    people = tuple(
        Customer(
            tenant_id,
            r.customer_id,
            r.name,
            r.domain_name,
            r.country,
            currency,
            TAX_BP.get(r.country, 0),
            r.tier2_mpn_id,
        )
        for r in rows
    )
    return Partner(
        p.tenant_id,
        p.name,
        p.mpn_id,
        p.domain_name,
        p.country,
        p.is_default,
        p.created_at,
        (currency,),
        people,
    )


def _ensure_tenant(conn: sa.Connection, rng: random.Random, now: datetime) -> str:
    tenant = default_tenant_id(conn)
    if tenant is None:
        partner = build_partners(rng, SeedOptions(tenants=1, customers=10), now)[0]
        write_reference(conn, [partner], [client_for(rng)])
        tenant = partner.tenant_id
    return tenant


def _ensure_invoice(
    conn: sa.Connection, rng: random.Random, tenant: str, invoice_id: str, now: datetime
) -> tuple[Invoice, bool]:
    row = conn.execute(
        sa.select(invoices).where(
            invoices.c.tenant_id == tenant, invoices.c.invoice_id == invoice_id
        )
    ).first()
    if row is not None:
        if row.commerce != "modern":
            raise InvalidRequest(
                f"invoice {invoice_id} is a legacy invoice: the Graph billing APIs serve new "
                "commerce invoices only, so it cannot have billed line items"
            )
        period = Period.of(row.billing_period_start)
        invoice = Invoice(
            tenant,
            invoice_id,
            row.invoice_date,
            period,
            row.currency_code,
            "modern",
            row.invoice_type,
            total_charges=row.total_charges,
        )
        return invoice, False
    period = invoiced_periods(now, 1)[0]
    currency = conn.execute(
        sa.select(partners.c.country).where(partners.c.tenant_id == tenant)
    ).scalar_one()
    code = next((c[1] for c in catalog.COUNTRIES if c[0] == currency), "USD")
    invoice = Invoice(
        tenant, invoice_id, invoice_date(rng, period), period, code, "modern", "OneTime"
    )
    return invoice, True


def append_to_invoice(
    db: Database,
    invoice_id: str,
    count: int,
    now: datetime,
    *,
    seed: int = 1,
    batch_size: int = 20_000,
) -> AppendReport:
    """Add ``count`` rows of each billed dataset to ``invoice_id`` (created when absent)."""
    with loading.bulk_transaction(db.engine) as conn:
        existing = conn.execute(
            sa.select(sa.func.count())
            .select_from(line_items)
            .where(line_items.c.invoice_id == invoice_id)
        ).scalar_one()
        rng = random.Random(f"{seed}:{invoice_id}:{existing}")
        tenant = _ensure_tenant(conn, rng, now)
        invoice, created = _ensure_invoice(conn, rng, tenant, invoice_id, now)
        partner = _partner(conn, tenant, invoice.currency)
        if not partner.customers:
            fresh = make_customers(rng, tenant, (invoice.currency,), 10)
            loading.insert_customers(conn, [
                {"tenant_id": c.tenant_id, "customer_id": c.customer_id, "name": c.name,
                 "domain_name": c.domain_name, "country": c.country,
                 "tier2_mpn_id": c.tier2_mpn_id} for c in fresh
            ])  # fmt: skip
            partner = _partner(conn, tenant, invoice.currency)
        recon, usage = partner_pools(rng, partner, invoice.period.start)
        cents = 0
        added: dict[Dataset, int] = {}
        with line_writer(conn, batch_size) as write:
            for dataset in (Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE):
                period = invoice.period
                scope = Scope(tenant, dataset, period, invoice.currency, invoice_id, period.end)
                patterns = compile_patterns(usage if dataset.usage else recon)
                written = write(Lines(scope, patterns, rng.getrandbits(64), count))
                cents += 0 if dataset.usage else written
                added[dataset] = count
        total = (invoice.total_charges + Decimal(cents) / 100).quantize(Decimal("0.01"))
        if created:
            invoice.total_charges = total
            loading.insert_invoices(conn, [invoice.row()])
        else:
            conn.execute(
                invoices.update()
                .where(invoices.c.tenant_id == tenant, invoices.c.invoice_id == invoice_id)
                .values(total_charges=total)
            )
    return AppendReport(tenant, invoice_id, created, added, total)
