"""``billport reconcile --invoice ID``: the invoice's totalCharges against its line items.

Reads the invoice from Partner Center, exports its billed reconciliation line items through
Graph (basic attribute set: every field the check needs), and compares per currency with a
breakdown by customer and charge type. Exit code 0 within tolerance, 1 otherwise.
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from billport.billing.datasets import AttributeSet, Dataset
from billport.cli.progress import ExportProgress
from billport.cli.target import pop_target, pop_wait, target_options, wait_options
from billport.client.export import ExportRun
from billport.client.models import ExportRequest
from billport.client.rows import iter_rows

MISMATCH = 1


def parse_tolerance(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter("must be a non-negative amount")
    return amount


@click.command()
@click.option("--invoice", "invoice_id", required=True, help="Invoice id, e.g. G016907411.")
@click.option(
    "--tolerance",
    default="0.01",
    show_default=True,
    callback=parse_tolerance,
    help="Largest accepted difference per currency.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here instead of standard output.",
)
@wait_options
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@target_options
def reconcile(
    invoice_id: str,
    tolerance: Decimal,
    fmt: str,
    output: Path | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Check an invoice's totalCharges against the sum of its line items."""
    from billport.clock import clock_from_settings
    from billport.reconcile import reconcile as check
    from billport.reconcile import render_html, render_json, render_table
    from billport.settings import load_settings

    wait = pop_wait(options)
    target = pop_target(options)
    console = Console(stderr=True)
    with target, tempfile.TemporaryDirectory(prefix="billport-reconcile-") as tmp:
        invoice = target.partner_center().invoice(invoice_id)
        request = ExportRequest(
            Dataset.BILLED_RECONCILIATION,
            invoice_id=str(invoice.get("id") or invoice_id),
            attribute_set=AttributeSet.BASIC,
        )
        work = Path(tmp)
        with ExportProgress(console, enabled=not quiet) as progress:
            run = ExportRun(
                target.graph(),
                request,
                work / "parts",
                work / "state.json",
                events=progress.events(),
                wait=wait,
            )
            _, parts = run.run()
            rows = iter_rows(parts, request.dataset, request.attribute_set)
            result = check(invoice, progress.counted(rows, "reconciling"), tolerance)
            progress.phase("done", rows=result.rows)
    if fmt == "table":
        if output:
            with output.open("w", encoding="utf-8") as stream:
                render_table(result, Console(file=stream, width=120))
        else:
            render_table(result, Console())
    else:
        if fmt == "json":
            text = render_json(result)
        else:  # BILLPORT_NOW pins the report's generation time, as every other clock
            text = render_html(result, generated_at=clock_from_settings(load_settings())())
        if output:
            output.write_text(text, "utf-8")
        else:
            click.echo(text)
    if not result.ok:
        for finding in result.findings():
            click.echo(f"mismatch: {finding}", err=True)
        sys.exit(MISMATCH)
