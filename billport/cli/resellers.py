"""``billport resellers``: a provider's resellers, their customers and the markup rules.

Each command works on the local store (``--data-dir`` / ``--database-url``, like ``billport
import``) and rebuilds the views it changes at once; a running server serves them on the
next request (a removed reseller's tokens stop working within the partner cache's 30 s).
See docs/resellers.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from billport.cli.local_store import missing_database, no_store
from billport.cli.options import build_settings, store_options
from billport.errors import ConfigurationError, InvalidRequest

if TYPE_CHECKING:
    from billport.store.db import Database
    from billport.usecases.resellers import ViewReport

_PROVIDER = click.option(
    "--provider", default=None, help="The provider's tenant id (default: the default partner)."
)


@click.group()
def resellers() -> None:
    """A provider's resellers: tenants, credentials, owned customers, markup rules."""


def _database(data_dir: str | None, database_url: str | None) -> Database:
    from billport.store.db import Database

    settings = build_settings(data_dir=data_dir, database_url=database_url)
    missing = missing_database(settings.data_dir, settings.database_url)
    if missing is not None:
        raise ConfigurationError(no_store(missing))
    return Database.from_settings(settings)


def _now(data_dir: str | None, database_url: str | None) -> Any:
    from billport.clock import clock_from_settings

    return clock_from_settings(build_settings(data_dir=data_dir, database_url=database_url))()


def _echo_views(views: Sequence[ViewReport]) -> None:
    for view in views:
        changed = len(view.added) + len(view.replaced) + len(view.removed)
        click.echo(
            f"view of {view.tenant_id}: {view.rows:,} rows, {view.invoices} invoice(s); "
            f"{changed} row set(s) changed, {len(view.unchanged)} unchanged"
        )


@resellers.command()
@store_options
@_PROVIDER
@click.argument("tenant")
@click.option("--name", required=True, help="The reseller's name.")
@click.option("--mpn-id", default="", help="The reseller's MPN id (its Tier2MpnId on rows).")
@click.option("--customer", "customers", multiple=True, help="A customer id it owns (repeat).")
@click.option(
    "--tier2-mpn-id", "tier2", multiple=True, help="Another MPN id whose rows it owns (repeat)."
)
@click.option(
    "--no-client", is_flag=True, help="No development client (it signs in at another issuer)."
)
def add(
    data_dir: str | None,
    database_url: str | None,
    provider: str | None,
    tenant: str,
    name: str,
    mpn_id: str,
    customers: tuple[str, ...],
    tier2: tuple[str, ...],
    no_client: bool,
) -> None:
    """Declare reseller TENANT (or change it: the lists given replace the old ones)."""
    from billport.usecases.resellers import ResellerRequest, add_reseller

    request = ResellerRequest(tenant, name, mpn_id, customers, tier2, provider, not no_client)
    db = _database(data_dir, database_url)
    try:
        result = add_reseller(db, request, _now(data_dir, database_url))
    finally:
        db.dispose()
    verb = "added" if result.created else "changed"
    click.echo(f"reseller {result.reseller.tenant_id} ({result.reseller.name}) {verb}")
    _echo_views(result.views)
    if result.client is not None:  # the only time the secret exists in the clear
        click.echo(f"Client id:      {result.client.client_id}")
        click.echo(f"Client secret:  {result.client.secret}  (shown once; the store keeps a hash)")


@resellers.command("list")
@store_options
@_PROVIDER
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def list_command(
    data_dir: str | None, database_url: str | None, provider: str | None, as_json: bool
) -> None:
    """The resellers, with the customers and MPN ids they own."""
    from billport.usecases.resellers import list_resellers, reseller_json

    db = _database(data_dir, database_url)
    try:
        found = list_resellers(db, provider)
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps([reseller_json(r) for r in found], indent=2))
        return
    if not found:
        click.echo("no resellers (billport resellers add TENANT --name … --customer …)")
        return
    for r in found:
        click.echo(f"{r.tenant_id}  {r.name}  MPN {r.mpn_id or '-'}  provider {r.provider_id}")
        click.echo(f"    customers: {', '.join(r.customer_ids) or '-'}")
        click.echo(f"    MPN ids:   {', '.join(r.tier2_mpn_ids) or '-'}")


@resellers.command()
@store_options
@click.argument("tenant")
def remove(data_dir: str | None, database_url: str | None, tenant: str) -> None:
    """Remove reseller TENANT: its tenant, clients and view."""
    from billport.usecases.resellers import remove_reseller

    db = _database(data_dir, database_url)
    try:
        gone = remove_reseller(db, tenant)
    finally:
        db.dispose()
    click.echo(f"reseller {gone.tenant_id} ({gone.name}) removed")


def read_rules_file(path: Path) -> Any:
    """A rules file: TOML when it ends in .toml, else JSON; decimals read exactly."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            return tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidRequest(f"{path}: not TOML: {exc}") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{path}: not JSON: {exc}") from None


@resellers.command()
@store_options
@_PROVIDER
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
def rules(
    data_dir: str | None, database_url: str | None, provider: str | None, file: str | None
) -> None:
    """Set the markup rules from FILE (JSON or TOML) and rebuild the views; without FILE,
    print the rules in force."""
    from billport.usecases.resellers import rules_of, set_rules

    db = _database(data_dir, database_url)
    try:
        if file is None:
            _, document = rules_of(db, provider)
            click.echo(json.dumps(document, indent=2))
            return
        document, views = set_rules(
            db, read_rules_file(Path(file)), _now(data_dir, database_url), provider
        )
    finally:
        db.dispose()
    click.echo(f"{len(document.get('rules', []))} rule(s) set")
    _echo_views(views)


@resellers.command()
@store_options
@_PROVIDER
def refresh(data_dir: str | None, database_url: str | None, provider: str | None) -> None:
    """Rebuild the resellers' views (after the provider's data changed another way)."""
    from billport.usecases.resellers import refresh as rebuild

    db = _database(data_dir, database_url)
    try:
        views = rebuild(db, provider)
    finally:
        db.dispose()
    _echo_views(views)
    if not views:
        click.echo("no resellers")
