"""Which service the client commands talk to, and with which credentials.

A billport server (``--server``, default ``http://127.0.0.1:8000``) or the real Microsoft
service (``--microsoft``). Credentials, first match wins: ``--token``; ``--client-id`` with
``--client-secret`` or ``--certificate`` (Entra ID through msal for ``--microsoft`` or a
certificate, billport's token endpoint otherwise); for a billport server, the first
development client of the default partner, read from the server's store in ``--data-dir``
(or ``--database-url``) so a local run needs no flags. Every option has a ``BILLPORT_*``
variable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from billport.cli.local_store import missing_database, no_store, sqlite_file
from billport.cli.unreachable import cannot_reach
from billport.client.credentials import (
    MICROSOFT_AUTHORITY,
    BillportCredential,
    Credential,
    EntraCredential,
    StaticToken,
)
from billport.client.errors import AuthenticationFailed, ConnectionFailed
from billport.client.export import WaitOptions
from billport.client.graph import MICROSOFT_GRAPH, GraphClient
from billport.client.http import HttpClient
from billport.client.partner_center import MICROSOFT_PARTNER_CENTER, PartnerCenterClient

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SERVER = "http://127.0.0.1:8000"

_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--server",), dict(envvar="BILLPORT_SERVER", default=DEFAULT_SERVER, show_default=True,
                         help="billport server to talk to. [env: BILLPORT_SERVER]")),
    (("--data-dir",), dict(envvar="BILLPORT_DATA_DIR", default="./billport-data",
                           type=click.Path(file_okay=False), show_default=True,
                           help="The local server's data directory, for its development "
                           "client credentials. [env: BILLPORT_DATA_DIR]")),
    (("--database-url",), dict(envvar="BILLPORT_DATABASE_URL", default=None,
                               help="The local server's database, when not in --data-dir. "
                               "[env: BILLPORT_DATABASE_URL]")),
    (("--microsoft",), dict(envvar="BILLPORT_MICROSOFT", is_flag=True, default=False,
                            help="Talk to the real Microsoft Graph / Partner Center / Entra ID "
                            "endpoints. [env: BILLPORT_MICROSOFT]")),
    (("--tenant",), dict(envvar="BILLPORT_TENANT", default=None,
                         help="Partner tenant id. [env: BILLPORT_TENANT]")),
    (("--client-id",), dict(envvar="BILLPORT_CLIENT_ID", default=None,
                            help="App (client) id. [env: BILLPORT_CLIENT_ID]")),
    (("--client-secret",), dict(envvar="BILLPORT_CLIENT_SECRET", default=None,
                                help="Client secret. [env: BILLPORT_CLIENT_SECRET]")),
    (("--certificate",), dict(envvar="BILLPORT_CERTIFICATE", default=None,
                              type=click.Path(dir_okay=False, exists=True, path_type=Path),
                              help="PEM file with the app's private key and certificate. "
                              "[env: BILLPORT_CERTIFICATE]")),
    (("--token",), dict(envvar="BILLPORT_TOKEN", default=None,
                        help="A ready bearer token (used as is). [env: BILLPORT_TOKEN]")),
    (("--graph-url",), dict(envvar="BILLPORT_GRAPH_URL", default=None,
                            help="Graph root including the version, e.g. "
                            "https://graph.microsoft.com/beta. [env: BILLPORT_GRAPH_URL]")),
    (("--partner-center-url",), dict(envvar="BILLPORT_PARTNER_CENTER_URL", default=None,
                                     help="Partner Center API root. "
                                     "[env: BILLPORT_PARTNER_CENTER_URL]")),
    (("--authority",), dict(envvar="BILLPORT_AUTHORITY", default=None,
                            help="Token issuer root, e.g. https://login.microsoftonline.com. "
                            "[env: BILLPORT_AUTHORITY]")),
]  # fmt: skip
TARGET_KEYS = tuple(names[0].lstrip("-").replace("-", "_") for names, _ in _OPTIONS)


def target_options(func: F) -> F:
    """Add the target and credential options; the command gets them as ``target=Target``."""
    for names, attrs in reversed(_OPTIONS):
        func = click.option(*names, **attrs)(func)
    return func


@dataclass
class Target:
    """Resolved endpoints and a credential; builds the API clients."""

    graph_url: str
    partner_center_url: str
    credential: Credential
    http: HttpClient
    microsoft: bool = False

    def graph(self) -> GraphClient:
        return GraphClient(self.credential, self.http, self.graph_url)

    def partner_center(self) -> PartnerCenterClient:
        return PartnerCenterClient(self.credential, self.http, self.partner_center_url)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        """Close the connections; a billport server that refused them is named, with the hint
        to start it (the real service never refuses, so it gets the plain message)."""
        self.http.close()
        if isinstance(exc, ConnectionFailed) and exc.refused and not self.microsoft:
            raise ConnectionFailed(cannot_reach(exc.url), url=exc.url, refused=True) from exc


_WAIT_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--timeout",), dict(type=click.FloatRange(min=1), default=3600.0, show_default=True,
                          envvar="BILLPORT_EXPORT_TIMEOUT",
                          help="Seconds to wait for the operation. "
                          "[env: BILLPORT_EXPORT_TIMEOUT]")),
    (("--poll-min",), dict(type=click.FloatRange(min=0), default=0.1, show_default=True,
                           envvar="BILLPORT_POLL_MIN",
                           help="Shortest wait between polls, whatever Retry-After says. "
                           "[env: BILLPORT_POLL_MIN]")),
    (("--poll-max",), dict(type=click.FloatRange(min=0), default=60.0, show_default=True,
                           envvar="BILLPORT_POLL_MAX",
                           help="Longest wait between polls. [env: BILLPORT_POLL_MAX]")),
]  # fmt: skip


def wait_options(func: F) -> F:
    """Add ``--timeout``/``--poll-min``/``--poll-max``; read them with :func:`pop_wait`."""
    for names, attrs in reversed(_WAIT_OPTIONS):
        func = click.option(*names, **attrs)(func)
    return func


def pop_wait(kwargs: dict[str, Any]) -> WaitOptions:
    """Remove the wait options from a command's kwargs; the client's polling bounds."""
    timeout, low, high = (kwargs.pop(key) for key in ("timeout", "poll_min", "poll_max"))
    return WaitOptions(timeout, min(low, high), high)


def pop_target(kwargs: dict[str, Any], http: HttpClient | None = None) -> Target:
    """Remove the target options from a command's kwargs and resolve them."""
    options = {key: kwargs.pop(key) for key in TARGET_KEYS}
    return resolve(http=http or HttpClient(), **options)


def resolve(
    *,
    http: HttpClient,
    server: str,
    data_dir: str,
    database_url: str | None,
    microsoft: bool,
    tenant: str | None,
    client_id: str | None,
    client_secret: str | None,
    certificate: Path | None,
    token: str | None,
    graph_url: str | None,
    partner_center_url: str | None,
    authority: str | None,
) -> Target:
    root = server.rstrip("/")
    if microsoft:
        graph, pc, issuer = MICROSOFT_GRAPH, MICROSOFT_PARTNER_CENTER, MICROSOFT_AUTHORITY
    else:
        graph, pc, issuer = f"{root}/v1.0", root, root
    graph, pc, issuer = graph_url or graph, partner_center_url or pc, authority or issuer
    credential: Credential
    if token:
        credential = StaticToken(token)
    elif client_id:
        credential = _app_credential(
            http, microsoft, issuer, tenant, client_id, client_secret, certificate
        )
    elif microsoft:
        raise click.UsageError(
            "--microsoft needs --tenant and --client-id with --client-secret or "
            "--certificate, or a --token"
        )
    else:
        credential = _dev_credential(Path(data_dir), database_url, tenant)
    return Target(graph.rstrip("/"), pc.rstrip("/"), credential, http, microsoft)


def _app_credential(
    http: HttpClient,
    microsoft: bool,
    authority: str,
    tenant: str | None,
    client_id: str,
    secret: str | None,
    certificate: Path | None,
) -> Credential:
    if not tenant:
        raise click.UsageError("--client-id needs --tenant")
    if (secret is None) == (certificate is None):
        raise click.UsageError("--client-id needs exactly one of --client-secret, --certificate")
    if microsoft or certificate is not None:
        return EntraCredential(
            tenant,
            client_id,
            client_secret=secret,
            certificate=certificate,
            authority=authority,
            http=http,
        )
    return BillportCredential(authority, tenant, client_id, str(secret), http)


def _dev_credential(data_dir: Path, database_url: str | None, tenant: str | None) -> Credential:
    """The local server's first development client of ``tenant`` (default partner), with
    tokens signed by the server's own key: the store has no secret to read back."""
    others = "--client-id/--client-secret/--tenant or --token"
    missing = missing_database(data_dir, database_url)
    if missing is not None:
        raise AuthenticationFailed(
            None, "noCredentials", f"no credentials: {no_store(missing, others)}", None
        )
    found = dev_client(data_dir, database_url, tenant)
    if found is None:
        path = sqlite_file(data_dir, database_url)
        where = path.absolute() if path else "--database-url"
        whose = f"tenant {tenant}" if tenant else "the default partner"
        raise AuthenticationFailed(
            None,
            "noCredentials",
            f"no credentials: the billport store at {where} has no development client of "
            f"{whose}; pass --data-dir of the server, {others}",
            None,
        )
    return found


def dev_client(data_dir: Path, database_url: str | None, tenant: str | None) -> Credential | None:
    """A credential of the server's first client of ``tenant`` (default partner), or None.

    This is the one place the CLI's client commands touch the store and its keys, without
    migrating or creating either; the client library never does.
    """
    if missing_database(data_dir, database_url) is not None:
        return None  # opening it would create an empty one
    from billport.auth.keys import SIGNING_KEY_FILE, KeyRing
    from billport.cli.dev_credential import LocalIssuerCredential
    from billport.errors import DatabaseUnavailable, StoreError
    from billport.settings import load_settings
    from billport.store.clients import clients_of_tenant, default_tenant_id
    from billport.store.db import Database

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    signing_key = settings.keys_dir / SIGNING_KEY_FILE
    if not signing_key.is_file():  # fresh keys would sign tokens no server accepts
        raise AuthenticationFailed(
            None,
            "noCredentials",
            f"no credentials: no signing key at {signing_key.absolute()}: pass --data-dir "
            "of the server (its keys sign the tokens), --client-id/--client-secret/--tenant "
            "or --token",
            None,
        )
    db = Database.from_settings(settings, migrate_schema=False)
    try:
        with db.connect() as conn:
            tenant_id = tenant or default_tenant_id(conn)
            clients = clients_of_tenant(conn, tenant_id) if tenant_id else []
    except (StoreError, DatabaseUnavailable):  # an unreadable or unmigrated store has none
        return None
    finally:
        db.dispose()
    if not clients:
        return None
    return LocalIssuerCredential(settings, KeyRing.load_or_create(settings), clients[0])
