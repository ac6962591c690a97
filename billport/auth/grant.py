"""The OAuth2 client-credentials grant of the dev issuer, with Entra ID's error vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billport.auth.issuer import GRAPH_AUDIENCE, audience_for_scope, issue_token
from billport.auth.keys import KeyRing
from billport.auth.partners import is_partner
from billport.settings import Settings
from billport.store.clients import get_client, secret_matches
from billport.store.db import Database

# Entra's multi-tenant aliases: meaningless for an app-only grant, which needs one tenant.
TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})
# Scopes clients such as MSAL may add; they grant nothing in a client-credentials token.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})


class OAuthError(Exception):
    """An RFC 6749 §5.2 error; ``code`` is the AADSTS number Entra would send."""

    def __init__(self, error: str, description: str, *, status: int = 400, code: int = 0) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ClientCredentialsRequest:
    tenant: str
    grant_type: str | None
    client_id: str | None
    client_secret: str | None
    scope: str | None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def _require(value: str | None, name: str) -> str:
    if not value:
        raise OAuthError(
            "invalid_request",
            f"AADSTS900144: The request body must contain the following parameter: '{name}'.",
            code=900144,
        )
    return value


def _audience(scope: str) -> str:
    requested = [s for s in scope.split() if s.lower() not in OIDC_SCOPES]
    audiences = {audience_for_scope(s) for s in requested}
    if len(requested) != 1 or None in audiences:
        raise OAuthError(
            "invalid_scope",
            f"AADSTS1002012: The provided value for scope {scope} is not valid. Client "
            "credential flows must have one scope value with /.default suffixed to the "
            "resource identifier (application ID URI).",
            code=1002012,
        )
    return audiences.pop() or GRAPH_AUDIENCE


def _check_tenant(db: Database, tenant: str) -> None:
    if tenant.lower() in TENANT_ALIASES:
        raise OAuthError(
            "invalid_request",
            f"AADSTS50194: The /{tenant} endpoint is not supported for the client-credentials "
            "grant; use /{tenant id}.",
            code=50194,
        )
    if not is_partner(db, tenant):
        raise OAuthError(
            "invalid_request",
            f"AADSTS90002: Tenant '{tenant}' not found. Check that the tenant id is correct.",
            code=90002,
        )


def client_credentials(
    request: ClientCredentialsRequest,
    *,
    db: Database,
    keys: KeyRing,
    settings: Settings,
    now: datetime,
) -> IssuedToken:
    """Authenticate the client and issue its token, or raise OAuthError."""
    grant_type = _require(request.grant_type, "grant_type")
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'; "
            "this issuer supports client_credentials only.",
            code=70003,
        )
    client_id = _require(request.client_id, "client_id")
    audience = _audience(_require(request.scope, "scope"))
    _check_tenant(db, request.tenant)
    if not request.client_secret:
        raise OAuthError(
            "invalid_client",
            "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for "
            "the 'client_credentials' grant type.",
            status=401,
            code=7000216,
        )
    with db.connect() as conn:
        client = get_client(conn, client_id)
    if client is None or client.tenant_id != request.tenant:
        raise OAuthError(
            "invalid_client",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            f"directory '{request.tenant}'.",
            status=401,
            code=700016,
        )
    if not secret_matches(client.secret_hash, request.client_secret):
        raise OAuthError(
            "invalid_client",
            f"AADSTS7000215: Invalid client secret provided for app '{client_id}'.",
            status=401,
            code=7000215,
        )
    roles = client.roles if audience == GRAPH_AUDIENCE else ()
    token = issue_token(
        keys,
        settings,
        tenant_id=client.tenant_id,
        client_id=client.client_id,
        audience=audience,
        roles=roles,
        now=now,
    )
    return IssuedToken(token, settings.token_lifetime)
