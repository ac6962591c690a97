"""``billport import``: load Graph export blobs, Partner Center portal CSV files and saved
``GET /v1/invoices`` bodies into the local store."""

from __future__ import annotations

import uuid

import click

from billport.cli.options import build_settings, store_options

# Dataset.cli_name of the stored datasets, written out: --help must not import the domain.
KINDS = ["billed-reconciliation", "billed-usage", "unbilled-reconciliation", "unbilled-usage"]


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
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default=None,
    help="What portal CSV files hold (default: from their header, and billed when the first "
    "row has an InvoiceNumber).",
)
@click.option(
    "--anonymise",
    is_flag=True,
    help="Replace names, domains, tenant, customer and subscription ids and MPN ids by "
    "consistent pseudonyms (keyed HMAC).",
)
@click.option(
    "--anonymise-key",
    default=None,
    metavar="KEY",
    help="The HMAC key of --anonymise (default: a public, documented key; same key, same "
    "pseudonyms).",
)
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
def import_command(
    data_dir: str | None,
    database_url: str | None,
    tenant: str,
    billing_month: int | None,
    kind: str | None,
    anonymise: bool,
    anonymise_key: str | None,
    sources: tuple[str, ...],
) -> None:
    """Import SOURCES: folders or files of Graph export blobs (*.json.gz) or a saved
    manifest; Partner Center portal CSV files (invoice reconciliation, daily-rated usage);
    saved GET /v1/invoices bodies (*.json: invoice headers).

    Any stored dataset, full or basic attribute set. Importing the same files twice changes
    nothing; a newer version of an invoice's rows replaces the old ones. See docs/import.md.
    """
    from pathlib import Path

    from rich.console import Console

    from billport.billing.datasets import Dataset
    from billport.cli.progress import PhaseProgress, count, duration
    from billport.ingest.anonymise import DEFAULT_KEY
    from billport.runtime import open_runtime
    from billport.usecases.imports import ImportRequest, import_blobs

    if anonymise_key is not None and not anonymise:
        raise click.UsageError("--anonymise-key goes with --anonymise")
    request = ImportRequest(
        tenant,
        [Path(source) for source in sources],
        billing_month,
        kind=None if kind is None else next(d for d in Dataset if d.cli_name == kind),
        anonymise_key=(anonymise_key or DEFAULT_KEY) if anonymise else None,
    )
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
    for header in report.headers:
        click.echo(f"invoice header: {header}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for client in report.clients:  # the only time the secret exists in the clear
        click.echo(f"client of {client.tenant_id}: {client.client_id} secret {client.secret}")
    if report.clients:
        click.echo("(secret shown once: the store keeps only its hash; `billport clients rotate`)")
