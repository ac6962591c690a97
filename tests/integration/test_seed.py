"""Seeding a real store (SQLite and PostgreSQL): totals, isolation, determinism, --invoice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.clock import clock_from_settings
from billport.errors import InvalidRequest
from billport.seed.generator import SeedOptions, dataset_counts, ensure_empty, seed_store
from billport.settings import Settings
from billport.store.db import Database
from billport.store.tables import clients, customers, invoices, line_items, partners
from tests.support.data import add_invoice_lines, seed_small

BILLED_RECON = Dataset.BILLED_RECONCILIATION.code


def _digest(db: Database) -> str:
    digest = hashlib.sha256()
    with db.connect() as conn:
        rows = conn.execute(sa.select(line_items).order_by(line_items.c.id))
        for row in rows:
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _line_sums(conn: sa.Connection) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = {}
    query = sa.select(line_items.c.tenant_id, line_items.c.invoice_id, line_items.c.total).where(
        line_items.c.dataset == BILLED_RECON
    )
    for tenant, invoice, total in conn.execute(query):
        sums[(tenant, invoice)] = sums.get((tenant, invoice), Decimal(0)) + total
    return sums


def test_seed_writes_consistent_invoices(database: Database, settings: Settings) -> None:
    report = seed_small(database, settings, line_items=2_000, tenants=2)
    with database.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(line_items)).scalar() == 2_000
        per_dataset = dict(
            conn.execute(
                sa.select(line_items.c.dataset, sa.func.count()).group_by(line_items.c.dataset)
            ).all()
        )
        assert {Dataset.from_code(k): v for k, v in per_dataset.items()} == dataset_counts(2_000)
        sums = _line_sums(conn)
        stored = conn.execute(sa.select(invoices)).all()
        assert conn.execute(sa.select(sa.func.count()).select_from(clients)).scalar() == 2
        defaults = conn.execute(sa.select(partners.c.tenant_id).where(partners.c.is_default))
        assert [r[0] for r in defaults] == [report.partners[0].tenant_id]
    modern = [i for i in stored if i.commerce == "modern"]
    assert modern and all(i.total_charges == sums[(i.tenant_id, i.invoice_id)] for i in modern)
    legacy_ids = {(i.tenant_id, i.invoice_id) for i in stored if i.commerce == "legacy"}
    assert legacy_ids and not legacy_ids & set(sums)
    assert any(i.document_type == "adjustment_note" and i.amends_of for i in stored)


def test_stored_docs_are_the_exact_bytes(database: Database, settings: Settings) -> None:
    seed_small(database, settings, line_items=300)
    with database.connect() as conn:
        for row in conn.execute(sa.select(line_items).limit(50)):
            assert isinstance(row.doc_full, bytes) and row.rev == 0
            doc = json.loads(row.doc_full, parse_float=Decimal)
            key = "BillingPreTaxTotal" if Dataset.from_code(row.dataset).usage else "Total"
            assert doc[key] == row.total and str(doc[key]) == str(row.total)
            assert doc["CustomerId"] == row.customer_id
        assert conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar() == 12


def test_same_seed_same_store(database: Database, settings: Settings) -> None:
    """Same seed, same rows, whatever the backend (compared against a second SQLite store)."""
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    try:
        seed_small(database, settings, line_items=500)
        seed_small(reference, settings, line_items=500)
        assert _digest(database) == _digest(reference)
    finally:
        reference.dispose()


def assert_same_stores(
    database: Database, settings: Settings, options: SeedOptions, reference_options: SeedOptions
) -> None:
    """Seeding ``database`` with ``options`` and a fresh SQLite store with
    ``reference_options`` gives the same line items (column for column) and invoices."""
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    now = clock_from_settings(settings)()
    try:
        seed_store(database, options, now)
        seed_store(reference, reference_options, now)
        assert _digest(database) == _digest(reference)
        with database.connect() as conn, reference.connect() as other:
            query = sa.select(invoices).order_by(invoices.c.tenant_id, invoices.c.invoice_id)
            assert conn.execute(query).all() == other.execute(query).all()
    finally:
        reference.dispose()


def test_rendering_in_sqlite_gives_the_python_bytes(database: Database, settings: Settings) -> None:
    """The store's rows (SQLite renders them itself on SQLite) equal rows rendered in Python
    and inserted into another SQLite store, column for column; so do the invoice totals."""
    options = SeedOptions(seed=9, line_items=6_000, tenants=2, customers=5, months=2)
    assert_same_stores(
        database,
        settings,
        replace(options, parallel=False),
        replace(options, parallel=False, render_in_sqlite=False),
    )


def test_other_seed_other_rows(database: Database, settings: Settings) -> None:
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    try:
        seed_small(database, settings, line_items=500, seed=1)
        seed_small(reference, settings, line_items=500, seed=2)
        with database.connect() as conn, reference.connect() as other:
            query = sa.select(line_items.c.doc_full).order_by(line_items.c.id)
            mine, theirs = conn.scalars(query).all(), other.scalars(query).all()
        assert len(mine) == len(theirs) == 500
        assert not set(mine) & set(theirs)
    finally:
        reference.dispose()


def test_invoice_mode_gives_the_same_rows_on_every_backend(
    database: Database, settings: Settings
) -> None:
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    try:
        first = add_invoice_lines(database, settings, 700, "G012345678")
        second = add_invoice_lines(reference, settings, 700, "G012345678")
        assert _digest(database) == _digest(reference)
        assert first.total_charges == second.total_charges
    finally:
        reference.dispose()


def test_non_empty_store_is_refused(database: Database, settings: Settings) -> None:
    seed_small(database, settings, line_items=10)
    with pytest.raises(InvalidRequest, match="--reset"):
        ensure_empty(database)


def test_invoice_mode_appends_and_keeps_totals(database: Database, settings: Settings) -> None:
    seed_small(database, settings, line_items=400)
    with database.connect() as conn:
        target = conn.execute(
            sa.select(invoices).where(invoices.c.commerce == "modern").limit(1)
        ).one()
        before = conn.execute(sa.select(sa.func.count()).select_from(line_items)).scalar()
    report = add_invoice_lines(database, settings, 120, target.invoice_id)
    assert not report.created_invoice
    with database.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(line_items)).scalar()
        total = conn.execute(
            sa.select(invoices.c.total_charges).where(invoices.c.invoice_id == target.invoice_id)
        ).scalar_one()
        sums = _line_sums(conn)
    assert after - before == 240
    assert total == report.total_charges == sums[(target.tenant_id, target.invoice_id)]


def test_invoice_mode_on_an_empty_store(database: Database, settings: Settings) -> None:
    report = add_invoice_lines(database, settings, 50, "G012345678")
    assert report.created_invoice
    with database.connect() as conn:
        stored = conn.execute(sa.select(invoices)).one()
        sums = _line_sums(conn)
        billed_usage = conn.execute(
            sa.select(sa.func.count())
            .select_from(line_items)
            .where(line_items.c.dataset == Dataset.BILLED_USAGE.code)
        ).scalar()
    assert stored.commerce == "modern" and stored.invoice_type == "OneTime"
    assert stored.total_charges == sums[(stored.tenant_id, "G012345678")]
    assert billed_usage == 50


def test_invoice_mode_refuses_legacy_invoices(database: Database, settings: Settings) -> None:
    seed_small(database, settings, line_items=10)
    with database.connect() as conn:
        legacy = conn.execute(
            sa.select(invoices.c.invoice_id).where(
                invoices.c.commerce == "legacy",
                invoices.c.tenant_id
                == sa.select(partners.c.tenant_id).where(partners.c.is_default).scalar_subquery(),
            )
        ).first()
    assert legacy is not None
    with pytest.raises(InvalidRequest, match="legacy"):
        add_invoice_lines(database, settings, 5, legacy[0])


def test_parallel_render_gives_the_same_store(database: Database, settings: Settings) -> None:
    """The forked renderer gives the same rows and invoice totals (on SQLite, where SQLite
    renders rows itself, ``parallel`` changes nothing)."""
    options = SeedOptions(seed=3, line_items=12_000, tenants=2, customers=4, months=2)
    assert_same_stores(
        database, settings, replace(options, parallel=True), replace(options, parallel=False)
    )
