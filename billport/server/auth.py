"""FastAPI dependencies that turn ``Authorization: Bearer`` into a Principal.

Routes declare what they need in their signature::

    @router.get("/v1/invoices", responses=AUTH_RESPONSES)
    def list_invoices(principal: PartnerCenterPrincipal) -> ...:
        ... principal.tenant_id ...

Failures raise AuthenticationError (401) / PermissionDenied (403); the error handlers give
them the envelope of the route's API surface.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE
from billport.auth.partners import is_partner, known_partner
from billport.auth.validation import Principal, is_verified, validate_token
from billport.errors import AuthenticationError, PermissionDenied
from billport.runtime import Runtime

__all__ = [
    "AUTH_RESPONSES",
    "GraphPrincipal",
    "PartnerCenterPrincipal",
    "Principal",
    "bearer_token",
    "graph_principal",
    "partner_center_principal",
]

# Only documents the scheme in OpenAPI; the header is parsed below for precise errors.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Entra ID style access token (dev issuer: POST /{tenant}/oauth2/v2.0/token).",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]

# Merge into a route's ``responses=`` so the OpenAPI schema lists the auth failures.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, malformed, expired or untrusted access token"},
    403: {"description": "Valid token, but the caller may not use this API"},
}


def bearer_token(request: Request) -> str:
    """The raw token of the ``Authorization: Bearer`` header; 401 if absent or malformed."""
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise AuthenticationError("Access token is empty.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and not token:
        raise AuthenticationError("Access token is empty.")
    if scheme.lower() != "bearer" or " " in token:
        raise AuthenticationError("The Authorization header must be 'Bearer <access token>'.")
    return token


def _authenticate(request: Request, audience: str) -> Principal:
    runtime: Runtime = request.app.state.runtime
    principal = validate_token(
        bearer_token(request),
        expected_audience=audience,
        keys=runtime.keys,
        settings=runtime.settings,
        now=runtime.clock(),
    )
    if not is_partner(runtime.db, principal.tenant_id):
        raise PermissionDenied(
            f"Tenant {principal.tenant_id} is not a partner tenant known to this service."
        )
    return principal


async def _principal(request: Request, audience: str) -> Principal:
    """A token seen before, of a partner seen before, is checked on the event loop (no I/O
    is left: its signature and the partner lookup are cached); anything else in a thread,
    since it may read the store or fetch an external issuer's keys."""
    runtime: Runtime = request.app.state.runtime
    token = bearer_token(request)
    if is_verified(token, runtime.keys, runtime.settings):
        principal = validate_token(
            token,
            expected_audience=audience,
            keys=runtime.keys,
            settings=runtime.settings,
            now=runtime.clock(),
        )
        if known_partner(runtime.db, principal.tenant_id):
            return principal
    return await run_in_threadpool(_authenticate, request, audience)


async def graph_principal(request: Request, _: BearerCredentials) -> Principal:
    """Caller of a Graph route: audience Graph and ``PartnerBilling.Read.All``."""
    return await _principal(request, GRAPH_AUDIENCE)


async def partner_center_principal(request: Request, _: BearerCredentials) -> Principal:
    """Caller of a Partner Center route: audience ``https://api.partnercenter.microsoft.com``."""
    return await _principal(request, PARTNER_CENTER_AUDIENCE)


GraphPrincipal = Annotated[Principal, Depends(graph_principal)]
PartnerCenterPrincipal = Annotated[Principal, Depends(partner_center_principal)]
