"""``billport clients rotate``: a new secret for a development client, printed once.

The store keeps only a hash of each secret, so a secret lost after ``serve --demo`` or
``billport seed`` printed it cannot be read back: rotating gives the client a new one (the
old one stops working) and prints it, once.
"""

from __future__ import annotations

import click

from billport.cli.local_store import missing_database, no_store
from billport.cli.options import build_settings, store_options
from billport.errors import ConfigurationError, NotFound


@click.group()
def clients() -> None:
    """Development clients of the built-in token issuer."""


@clients.command()
@store_options
@click.option("--tenant", default=None, help="Partner tenant id (default: the default partner).")
@click.option("--client-id", default=None, help="The client (default: the tenant's first).")
def rotate(
    data_dir: str | None, database_url: str | None, tenant: str | None, client_id: str | None
) -> None:
    """Give a development client a new secret and print it (shown once; the old one stops
    working)."""
    from billport.store.clients import clients_of_tenant, default_tenant_id, rotate_secret
    from billport.store.db import Database

    settings = build_settings(data_dir=data_dir, database_url=database_url)
    missing = missing_database(settings.data_dir, settings.database_url)
    if missing is not None:
        raise ConfigurationError(no_store(missing))
    db = Database.from_settings(settings, migrate_schema=False)
    try:
        with db.begin() as conn:
            tenant_id = tenant or default_tenant_id(conn)
            if client_id is None:
                registered = clients_of_tenant(conn, tenant_id) if tenant_id else []
                if not registered:
                    raise NotFound(f"no development client of tenant {tenant_id or '(none)'}")
                client_id = registered[0].client_id
            rotated = rotate_secret(conn, client_id)
            if rotated is None or (tenant is not None and rotated.tenant_id != tenant):
                raise NotFound(f"no development client {client_id!r} of that tenant")
    finally:
        db.dispose()
    click.echo(f"Tenant:         {rotated.tenant_id}")
    click.echo(f"Client id:      {rotated.client_id}")
    click.echo(f"Client secret:  {rotated.secret}  (shown once: the store keeps only its hash)")
