"""``billport seed``: deterministic synthetic data."""

from __future__ import annotations

import time

import click

from billport.cli.options import build_settings, store_options
from billport.errors import InvalidRequest


@click.command()
@store_options
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=1,
    show_default=True,
    help="Random seed: the same seed gives the same bytes.",
)
@click.option(
    "--line-items",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Line items across the four datasets (25% billed reconciliation, 50% billed "
    "usage, 5% unbilled reconciliation, 20% unbilled usage). With --invoice: rows "
    "added to EACH billed dataset of that invoice.",
)
@click.option(
    "--tenants",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Partner tenants; the first is the default one.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Customers per tenant.",
)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="Invoiced months before the open period.",
)
@click.option("--demo", is_flag=True, help="Seed the small demo dataset (documentation invoices).")
@click.option(
    "--invoice",
    "invoice_id",
    default=None,
    help="Add billed line items to this modern invoice of the default tenant.",
)
@click.option(
    "--reset", is_flag=True, help="Delete all partners, invoices, line items and exports first."
)
@click.option(
    "--parallel/--no-parallel",
    default=False,
    show_default=True,
    help="Render rows in Python in a forked process while this one writes (PostgreSQL; "
    "SQLite renders the rows itself, so this has no effect there).",
)
def seed(
    data_dir: str | None,
    database_url: str | None,
    seed_value: int,
    line_items: int,
    tenants: int,
    customers: int,
    months: int,
    demo: bool,
    invoice_id: str | None,
    reset: bool,
    parallel: bool,
) -> None:
    """Generate deterministic synthetic billing data.

    On a store that already has partners, seed refuses unless --reset (replace everything)
    or --invoice ID (append line items to one invoice) is given.
    """
    from billport.clock import clock_from_settings
    from billport.seed.append import append_to_invoice
    from billport.seed.demo import seed_demo_dataset
    from billport.seed.generator import SeedOptions, ensure_empty, seed_store
    from billport.store import loading
    from billport.store.db import Database

    if demo and invoice_id:
        raise InvalidRequest("--demo and --invoice cannot be combined")
    settings = build_settings(data_dir=data_dir, database_url=database_url)
    now = clock_from_settings(settings)()
    db = Database.from_settings(settings)
    started = time.perf_counter()
    try:
        if invoice_id:
            report = append_to_invoice(db, invoice_id, line_items, now, seed=seed_value)
            verb = "created" if report.created_invoice else "extended"
            click.echo(
                f"{verb} invoice {report.invoice_id} of tenant {report.tenant_id}: "
                f"+{line_items} billed reconciliation and +{line_items} billed usage "
                f"line items, totalCharges {report.total_charges}"
            )
            return
        if reset:
            with db.begin() as conn:
                loading.delete_tenant_data(conn)
        ensure_empty(db)
        if demo:
            result = seed_demo_dataset(db, now)
        else:
            options = SeedOptions(
                seed=seed_value,
                line_items=line_items,
                tenants=tenants,
                customers=customers,
                months=months,
                parallel=parallel,
            )
            result = seed_store(db, options, now)
        elapsed = time.perf_counter() - started
        default = next(p for p in result.partners if p.is_default)
        click.echo(
            f"seeded {len(result.partners)} tenants, {len(result.invoices)} invoices, "
            f"{result.total_line_items} line items in {elapsed:.1f}s "
            f"({result.total_line_items / max(elapsed, 1e-9):,.0f} rows/s)"
        )
        click.echo(f"default tenant: {default.tenant_id}")
    finally:
        db.dispose()
