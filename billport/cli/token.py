"""``billport token``: print an access token of the development issuer."""

from __future__ import annotations

import click

from billport.cli.options import build_settings, setting_help, store_options

AUDIENCES = {
    "graph": "https://graph.microsoft.com",
    "partner-center": "https://api.partnercenter.microsoft.com",
}


@click.command()
@store_options
@click.option("--tenant", default=None, help="Partner tenant id (default: the default partner).")
@click.option(
    "--audience",
    type=click.Choice(sorted(AUDIENCES)),
    default="graph",
    show_default=True,
    help="graph: Graph billing exports; partner-center: Partner Center invoices.",
)
@click.option(
    "--lifetime",
    type=click.IntRange(min=1),
    default=None,
    help=setting_help("token_lifetime", "Lifetime in seconds."),
)
@click.option(
    "--admin",
    is_flag=True,
    help="Print the sandbox admin token (for /_billport/ and `billport scenario`) instead.",
)
def token(
    data_dir: str | None,
    database_url: str | None,
    tenant: str | None,
    audience: str,
    lifetime: int | None,
    admin: bool,
) -> None:
    """Print a bearer token for a partner tenant's first client (dev issuer)."""
    from billport.auth.issuer import token_for_tenant
    from billport.auth.keys import KeyRing
    from billport.store.db import Database

    settings = build_settings(data_dir=data_dir, database_url=database_url)
    if admin:
        # BILLPORT_ADMIN_TOKEN when set, else the data dir's key ring (created if absent).
        click.echo(KeyRing.load_or_create(settings).admin_token)
        return
    db = Database.from_settings(settings)
    try:
        click.echo(
            token_for_tenant(
                db,
                KeyRing.load_or_create(settings),
                settings,
                tenant_id=tenant,
                audience=AUDIENCES[audience],
                lifetime=lifetime,
            )
        )
    finally:
        db.dispose()
