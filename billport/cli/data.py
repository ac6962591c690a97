"""``billport seed``: deterministic synthetic data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from billport.cli.options import build_settings, store_options

if TYPE_CHECKING:
    from billport.usecases.admin import SeedRequest


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
    "--reset",
    is_flag=True,
    help="Delete all partners, invoices, line items, exports (with their blobs) and the "
    "request log first; scenarios stay.",
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
    from billport.runtime import open_runtime
    from billport.usecases.admin import SeedRequest
    from billport.usecases.admin import seed as seed_use_case

    request = SeedRequest(
        seed=seed_value,
        line_items=line_items,
        tenants=tenants,
        customers=customers,
        months=months,
        demo=demo,
        reset=reset,
        invoice=invoice_id,
        parallel=parallel,
    )
    from rich.console import Console

    from billport.cli.progress import PhaseProgress, count, duration

    runtime = open_runtime(build_settings(data_dir=data_dir, database_url=database_url))
    try:  # a spinner, a clock and the line items stored on a terminal; nothing in a pipe
        with PhaseProgress(Console(stderr=True)) as progress:
            text, counted = _seed_phase(request)
            progress.phase(text, **counted)
            seeded = seed_use_case(
                runtime.db, runtime.blobs, runtime.clock(), request, on_rows=progress.rows
            )
            elapsed = progress.elapsed
    finally:
        runtime.db.dispose()
    if seeded.appended is not None:
        report = seeded.appended
        verb = "created" if report.created_invoice else "extended"
        click.echo(
            f"{verb} invoice {report.invoice_id} of tenant {report.tenant_id}: "
            f"+{count(line_items)} billed reconciliation and +{count(line_items)} billed usage "
            f"line items, totalCharges {report.total_charges}"
        )
        return
    assert seeded.store is not None
    result = seeded.store
    default = next(p for p in result.partners if p.is_default)
    click.echo(
        f"seeded {len(result.partners)} tenants, {len(result.invoices)} invoices, "
        f"{count(result.total_line_items)} line items in {duration(elapsed)} "
        f"({count(round(result.total_line_items / max(elapsed, 1e-9)))} rows/s)"
    )
    click.echo(f"default tenant: {default.tenant_id}")
    for client in result.clients:  # the only time the secrets exist in the clear
        click.echo(f"client of {client.tenant_id}: {client.client_id} secret {client.secret}")
    click.echo("(secrets shown once: the store keeps only their hashes; `billport clients rotate`)")


def _seed_phase(request: SeedRequest) -> tuple[str, dict[str, Any]]:
    """What the progress line says while ``request`` runs (rows counted for a whole store)."""
    from billport.cli.progress import count

    if request.invoice:
        return f"adding {count(request.line_items)} line items to {request.invoice}", {}
    if request.demo:
        return "seeding the demo dataset", {}
    return "seeding", {"rows": 0, "unit": f"of {count(request.line_items)} line items"}
