"""Partners and bearer tokens for route tests.

Typical use in an integration test (``settings``/``database`` fixtures from conftest)::

    from tests.support.tokens import PARTNER_TENANT, bearer, make_partner

    def test_list(client, runtime):
        make_partner(runtime.db, PARTNER_TENANT)
        headers = bearer(runtime, None, PARTNER_TENANT, "partner-center")
        response = client.get("/v1/invoices", headers=headers)

API:

- ``make_partner(db, tenant_id=PARTNER_TENANT, ...) -> Client``: insert a partner row and one
  client of the dev issuer (with ``PartnerBilling.Read.All``); returns the client (it has
  ``client_id``, ``secret``, ``tenant_id``).
- ``token(services_or_keys, settings, tenant_id, audience="graph", **overrides) -> str``
- ``bearer(...)`` (same arguments) ``-> {"Authorization": "Bearer <token>"}``
- ``auth_services(settings, database) -> Runtime``: what the auth routes and dependencies
  need (settings, database, clock, signing keys), without a blob store.

``services_or_keys`` is a ``Runtime`` (then ``settings`` may be None: its own are used) or a
``KeyRing``. ``audience`` is ``"graph"``, ``"partner-center"`` or a full audience URI. Tokens
are issued at the settings' clock (``BILLPORT_NOW``, pinned by the ``settings`` fixture).
``overrides``: ``roles=``, ``now=``, ``lifetime=``, ``client_id=``; any other keyword
overrides that claim (``aud=...``, ``iss=...``, ``scp=...``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, issue_token
from billport.auth.keys import KeyRing
from billport.clock import clock_from_settings
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.clients import GRAPH_ROLE, Client, insert_client
from billport.store.db import Database
from billport.store.tables import partners

PARTNER_TENANT = "6f1c3b2a-4d5e-4f60-8a71-92b3c4d5e6f7"
OTHER_TENANT = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
AUDIENCES = {"graph": GRAPH_AUDIENCE, "partner-center": PARTNER_CENTER_AUDIENCE}
_CREATED = datetime(2024, 1, 1, tzinfo=UTC)


def auth_services(settings: Settings, database: Database) -> Runtime:
    """Runtime for identity and token-validation tests: no blob store."""
    return Runtime(
        settings=settings,
        db=database,
        clock=clock_from_settings(settings),
        keys=KeyRing.load_or_create(settings),
        blobs=None,  # type: ignore[arg-type]
    )


def make_partner(
    db: Database,
    tenant_id: str = PARTNER_TENANT,
    *,
    name: str = "Contoso CSP",
    is_default: bool = False,
    roles: tuple[str, ...] = (GRAPH_ROLE,),
    client_id: str | None = None,
    secret: str | None = None,
) -> Client:
    """Insert partner ``tenant_id`` and one dev-issuer client of it; return the client."""
    with db.begin() as conn:
        conn.execute(
            partners.insert().values(
                tenant_id=tenant_id,
                name=name,
                mpn_id="1234567",
                domain_name=f"{tenant_id[:8]}.onmicrosoft.com",
                country="US",
                is_default=is_default,
                created_at=_CREATED,
            )
        )
        return insert_client(
            conn,
            tenant_id=tenant_id,
            display_name=f"{name} billing reader",
            created_at=_CREATED,
            roles=roles,
            client_id=client_id,
            secret=secret,
        )


def token(
    services_or_keys: Runtime | KeyRing,
    settings: Settings | None,
    tenant_id: str = PARTNER_TENANT,
    audience: str = "graph",
    **overrides: Any,
) -> str:
    """An RS256 dev-issuer token; see the module docstring for ``overrides``."""
    if isinstance(services_or_keys, Runtime):
        keys, settings = services_or_keys.keys, settings or services_or_keys.settings
    else:
        keys = services_or_keys
    if settings is None:
        raise TypeError("settings are required with a bare KeyRing")
    resolved = AUDIENCES.get(audience, audience)
    default_roles = (GRAPH_ROLE,) if resolved == GRAPH_AUDIENCE else ()
    return issue_token(
        keys,
        settings,
        tenant_id=tenant_id,
        client_id=overrides.pop("client_id", CLIENT_ID),
        audience=resolved,
        roles=overrides.pop("roles", default_roles),
        now=overrides.pop("now", None),
        lifetime=overrides.pop("lifetime", None),
        extra_claims=overrides,
    )


def bearer(
    services_or_keys: Runtime | KeyRing,
    settings: Settings | None,
    tenant_id: str = PARTNER_TENANT,
    audience: str = "graph",
    **overrides: Any,
) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}`` for ``token(...)`` with the same arguments."""
    issued = token(services_or_keys, settings, tenant_id, audience, **overrides)
    return {"Authorization": f"Bearer {issued}"}
