"""The development issuer: RS256 access tokens shaped like Entra ID v2 app-only tokens."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import jwt

from billport.auth.keys import KeyRing
from billport.clock import clock_from_settings
from billport.errors import ConfigurationError, NotFound
from billport.settings import Settings
from billport.store.clients import GRAPH_ROLE, clients_of_tenant, default_tenant_id, partner_exists
from billport.store.db import Database

GRAPH_AUDIENCE = "https://graph.microsoft.com"
PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"

# Entra also names resources by their app id; tokens may carry either form in `aud`.
AUDIENCE_ALIASES: Mapping[str, frozenset[str]] = {
    GRAPH_AUDIENCE: frozenset({GRAPH_AUDIENCE, "00000003-0000-0000-c000-000000000000"}),
    PARTNER_CENTER_AUDIENCE: frozenset(
        {PARTNER_CENTER_AUDIENCE, "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"}
    ),
}

# Client-credentials scopes the token endpoint accepts, and the audience each yields.
SCOPE_AUDIENCES: Mapping[str, str] = {
    f"{alias}/.default".lower(): audience
    for audience, aliases in AUDIENCE_ALIASES.items()
    for alias in aliases
}

# Namespace for the stable object id of each (tenant, client) service principal.
_OID_NAMESPACE = uuid.UUID("5f0b6a3c-9f5e-4c1e-9d35-3a43f1b7c0de")


def dev_issuer(settings: Settings, tenant_id: str) -> str:
    """The dev issuer's ``iss`` for one tenant, like ``https://login.microsoftonline.com/{tid}/v2.0``."""
    return f"{settings.dev_issuer.rstrip('/')}/{tenant_id}/v2.0"


def audience_for_scope(scope: str) -> str | None:
    """The audience a ``<resource>/.default`` scope names, or None if it is not one we issue."""
    return SCOPE_AUDIENCES.get(scope.lower())  # Entra matches resource URIs case-insensitively


def issue_token(
    keyring: KeyRing,
    settings: Settings,
    *,
    tenant_id: str,
    client_id: str,
    audience: str,
    roles: Sequence[str] = (GRAPH_ROLE,),
    now: datetime | None = None,
    lifetime: int | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign an app-only access token for ``client_id`` of ``tenant_id``.

    ``now`` defaults to the settings' clock (so ``BILLPORT_NOW`` pins it), ``lifetime`` to
    ``settings.token_lifetime`` seconds; a lifetime over ``settings.max_token_lifetime`` is a
    ConfigurationError (validation would refuse the token). ``extra_claims`` are applied last
    and may override any standard claim (tests use this to forge bad tokens).
    """
    issued = now or clock_from_settings(settings)()
    seconds = settings.token_lifetime if lifetime is None else lifetime
    if seconds > settings.max_token_lifetime:
        raise ConfigurationError(
            f"a token lifetime of {seconds} s exceeds BILLPORT_MAX_TOKEN_LIFETIME="
            f"{settings.max_token_lifetime}; such tokens are refused"
        )
    oid = str(uuid.uuid5(_OID_NAMESPACE, f"{tenant_id}/{client_id}"))
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": dev_issuer(settings, tenant_id),
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=seconds)).timestamp()),
        "azp": client_id,
        "azpacr": "1",  # client authenticated with a secret
        "appid": client_id,  # v1 name of azp; older Partner Center clients read it
        "idp": dev_issuer(settings, tenant_id),
        "idtyp": "app",
        "oid": oid,
        "sub": oid,
        "tid": tenant_id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
    }
    if roles:
        claims["roles"] = list(roles)
    claims.update(extra_claims or {})
    return jwt.encode(
        claims, keyring.private_key, algorithm="RS256", headers={"kid": keyring.kid, "typ": "JWT"}
    )


def token_for_tenant(
    db: Database,
    keyring: KeyRing,
    settings: Settings,
    *,
    tenant_id: str | None = None,
    audience: str = GRAPH_AUDIENCE,
    lifetime: int | None = None,
    now: datetime | None = None,
) -> str:
    """A ready-to-use token for ``tenant_id`` (default: the default partner) via its first client.

    Raises ConfigurationError when the store has no partner, NotFound for an unknown tenant
    or one without clients.
    """
    with db.connect() as conn:
        tenant = tenant_id or default_tenant_id(conn)
        if tenant is None:
            raise ConfigurationError(
                "the store has no partner tenants; run `billport seed --demo` first"
            )
        if not partner_exists(conn, tenant):
            raise NotFound(f"no partner tenant {tenant!r} in the store")
        registered = clients_of_tenant(conn, tenant)
    if not registered:
        raise NotFound(f"partner tenant {tenant!r} has no registered clients")
    client = registered[0]
    roles = client.roles if audience == GRAPH_AUDIENCE else ()
    return issue_token(
        keyring,
        settings,
        tenant_id=tenant,
        client_id=client.client_id,
        audience=audience,
        roles=roles,
        now=now,
        lifetime=lifetime,
    )
