"""``billport token``: print an access token of the development issuer."""

from __future__ import annotations

import click

from billport.cli.local_store import missing_database, no_store
from billport.cli.options import build_settings, setting_help, store_options
from billport.errors import ConfigurationError

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
    settings = build_settings(data_dir=data_dir, database_url=database_url)
    if admin:
        from billport.cli.admin_client import admin_token

        # BILLPORT_ADMIN_TOKEN when set, else the server's keys/admin-token (never created).
        click.echo(admin_token(settings, None, "or set BILLPORT_ADMIN_TOKEN"))
        return
    from billport.auth.issuer import token_for_tenant
    from billport.auth.keys import SIGNING_KEY_FILE, KeyRing
    from billport.store.db import Database

    # Fresh keys or an empty store here would only give tokens no server accepts.
    missing = missing_database(settings.data_dir, settings.database_url)
    if missing is not None:
        raise ConfigurationError(no_store(missing))
    signing_key = settings.keys_dir / SIGNING_KEY_FILE
    if not signing_key.is_file():
        raise ConfigurationError(
            f"no signing key at {signing_key.absolute()}: pass --data-dir of the server "
            "(its keys sign the tokens)"
        )
    db = Database.from_settings(settings, migrate_schema=False)
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
