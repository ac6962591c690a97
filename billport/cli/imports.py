"""``billport import``: load downloaded Graph export blobs into the local store."""

from __future__ import annotations

import uuid

import click

from billport.cli.options import build_settings, store_options


def _tenant(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise click.BadParameter("a partner tenant id is a GUID") from None


def _month(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    text = value.replace("-", "")
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise click.BadParameter("a billing month is YYYY-MM or YYYYMM")
    return int(text)


@click.command("import")
@store_options
@click.option(
    "--tenant", required=True, callback=_tenant, help="Partner tenant id the rows belong to."
)
@click.option(
    "--billing-month",
    callback=_month,
    default=None,
    help="YYYY-MM of the rows, when the blobs' paths do not say (BillingMonth=…); "
    "else the first row's ChargeStartDate (or the stored invoice's period) decides.",
)
@click.argument("source", type=click.Path(exists=True, path_type=str))
def import_command(
    data_dir: str | None,
    database_url: str | None,
    tenant: str,
    billing_month: int | None,
    source: str,
) -> None:
    """Import Graph export blobs (*.json.gz) from SOURCE: a folder, or a saved manifest.

    Any stored dataset, full or basic attribute set. Importing the same files twice changes
    nothing; a newer version of an invoice's rows replaces the old ones. See docs/import.md.
    """
    from pathlib import Path

    from rich.console import Console

    from billport.cli.progress import PhaseProgress, count, duration
    from billport.runtime import open_runtime
    from billport.usecases.imports import ImportRequest, import_blobs

    request = ImportRequest(tenant, Path(source), billing_month)
    runtime = open_runtime(build_settings(data_dir=data_dir, database_url=database_url))
    try:
        with PhaseProgress(Console(stderr=True)) as progress:
            progress.phase("importing", rows=0)
            report = import_blobs(runtime.db, request, runtime.clock(), on_rows=progress.rows)
            elapsed = progress.elapsed
    finally:
        runtime.db.dispose()
    click.echo(f"read {count(report.rows)} rows from {report.files} file(s) in {duration(elapsed)}")
    for verb, scopes in (("added", report.added), ("replaced", report.replaced),
                         ("unchanged", report.unchanged)):  # fmt: skip
        for scope in scopes:
            click.echo(f"{verb}: {scope}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for client in report.clients:  # the only time the secret exists in the clear
        click.echo(f"client of {client.tenant_id}: {client.client_id} secret {client.secret}")
    if report.clients:
        click.echo("(secret shown once: the store keeps only its hash; `billport clients rotate`)")
