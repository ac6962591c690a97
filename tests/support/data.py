"""Seeded data for tests: the demo dataset, small generated stores, billed rows on an invoice."""

from __future__ import annotations

from billport.clock import clock_from_settings
from billport.seed.append import AppendReport, append_to_invoice
from billport.seed.demo import DEMO_INVOICE, DEMO_TENANT, seed_demo_dataset
from billport.seed.generator import SeedOptions, SeedReport, seed_store
from billport.settings import Settings
from billport.store.db import Database

__all__ = ["DEMO_INVOICE", "DEMO_TENANT", "add_invoice_lines", "seed_demo", "seed_small"]


def seed_demo(db: Database, settings: Settings) -> SeedReport:
    """The demo dataset (default tenant ``DEMO_TENANT``, invoice ``G016907411``...)."""
    return seed_demo_dataset(db, clock_from_settings(settings)())


def seed_small(
    db: Database, settings: Settings, *, line_items: int = 2_000, tenants: int = 2, seed: int = 1
) -> SeedReport:
    """A small generated store: 3 months of invoices, 6 customers per tenant."""
    options = SeedOptions(
        seed=seed, line_items=line_items, tenants=tenants, customers=6, months=3, parallel=False
    )
    return seed_store(db, options, clock_from_settings(settings)())


def add_invoice_lines(
    db: Database,
    settings: Settings,
    count: int,
    invoice_id: str = DEMO_INVOICE,
    *,
    seed: int = 1,
) -> AppendReport:
    """``count`` billed reconciliation and ``count`` billed usage rows on a modern invoice of
    the default tenant (invoice, and tenant on an empty store, created when absent)."""
    return append_to_invoice(db, invoice_id, count, clock_from_settings(settings)(), seed=seed)
