"""The development issuer's endpoints, at Entra ID's paths: token, JWKS, OpenID configuration.

Errors here use the OAuth2 shape (``{"error", "error_description", ...}``) like Entra, not
the Graph envelope (``server.errors.oauth2_error``): OAuth2 errors are returned directly,
anything else raised is shaped the same way by the app's error handlers.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from billport.auth.grant import (
    TENANT_ALIASES,
    ClientCredentialsRequest,
    OAuthError,
    client_credentials,
)
from billport.auth.issuer import dev_issuer
from billport.auth.partners import is_partner
from billport.runtime import Runtime
from billport.server.deps import get_runtime
from billport.server.errors import NO_STORE, OAuthErrorBody, oauth2_error
from billport.server.urls import base_url

router = APIRouter(tags=["identity"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class TokenRequest(BaseModel):
    """Client-credentials request; every field is optional so omissions get OAuth2 errors."""

    grant_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class TokenResponse(BaseModel):
    token_type: str = "Bearer"
    expires_in: int
    ext_expires_in: int
    access_token: str


class JsonWebKey(BaseModel):
    kty: str
    use: str
    alg: str
    kid: str
    n: str
    e: str


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]


class InstanceMetadata(BaseModel):
    preferred_network: str
    preferred_cache: str
    aliases: list[str]


class InstanceDiscovery(BaseModel):
    """Entra's ``/common/discovery/instance`` answer: where an authority's tenant metadata is."""

    tenant_discovery_endpoint: str
    api_version: str = Field(default="1.1", serialization_alias="api-version")
    metadata: list[InstanceMetadata]


class OpenIdConfiguration(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint_auth_methods_supported: list[str]
    grant_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    scopes_supported: list[str]
    tenant_region_scope: str | None = None
    cloud_instance_name: str


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "invalid_request, invalid_scope, ..."},
    401: {"model": OAuthErrorBody, "description": "invalid_client: unknown client or bad secret"},
}


def oauth_error(request: Request, exc: OAuthError, headers: dict[str, str]) -> JSONResponse:
    return oauth2_error(
        request, exc.status, exc.error, exc.description, code=exc.code, headers=headers
    )


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (RFC 6749 §2.3.1), if sent."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", status=401) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", status=401)
    return unquote_plus(client_id), unquote_plus(secret)


def client_auth(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str | None, str | None]:
    """The client's credentials from the form or Basic auth; both at once is refused."""
    basic = basic_credentials(request)
    if basic is None:
        return client_id, client_secret
    if client_secret or (client_id and client_id != basic[0]):
        raise OAuthError(
            "invalid_request", "Use one client authentication method, not both.", code=900144
        )
    return basic


@router.post(
    "/{tenant}/oauth2/v2.0/token",
    response_model=TokenResponse,
    responses=OAUTH_ERRORS,
    summary="Dev issuer: OAuth2 client-credentials token (Entra ID v2 shape)",
)
def token(
    tenant: str,
    request: Request,
    runtime: RuntimeDep,
    form: Annotated[TokenRequest, Form()],
) -> JSONResponse:
    basic = request.headers.get("authorization", "").lower().startswith("basic")
    try:
        client_id, client_secret = client_auth(request, form.client_id, form.client_secret)
        grant = ClientCredentialsRequest(
            tenant, form.grant_type, client_id, client_secret, form.scope
        )
        issued = client_credentials(
            grant,
            db=runtime.db,
            keys=runtime.keys,
            settings=runtime.settings,
            now=runtime.clock(),
        )
    except OAuthError as exc:
        challenge = (
            {"WWW-Authenticate": 'Basic realm="billport"'} if basic and exc.status == 401 else {}
        )
        return oauth_error(request, exc, challenge)
    body = TokenResponse(
        expires_in=issued.expires_in,
        ext_expires_in=issued.expires_in,
        access_token=issued.access_token,
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.get(
    "/{tenant}/discovery/v2.0/keys",
    response_model=JsonWebKeySet,
    summary="Dev issuer: public signing keys (JWKS)",
)
def keys(tenant: str, runtime: RuntimeDep) -> JsonWebKeySet:
    return JsonWebKeySet.model_validate(runtime.keys.jwks())


@router.get(
    "/{tenant}/v2.0/.well-known/openid-configuration",
    response_model=OpenIdConfiguration,
    responses={400: {"model": OAuthErrorBody, "description": "invalid_tenant: unknown tenant"}},
    summary="Dev issuer: OpenID Connect discovery document",
)
def openid_configuration(
    tenant: str, request: Request, runtime: RuntimeDep
) -> OpenIdConfiguration | JSONResponse:
    if tenant.lower() not in TENANT_ALIASES and not is_partner(runtime.db, tenant):
        error = OAuthError(
            "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.", code=90002
        )
        return oauth_error(request, error, {})
    return discovery_document(base_url(request, runtime.settings), tenant, runtime)


def discovery_document(base: str, tenant: str, runtime: Runtime) -> OpenIdConfiguration:
    """Entra's discovery shape; aliases like ``common`` get the ``{tenantid}`` issuer template."""
    issuer_tenant = "{tenantid}" if tenant.lower() in TENANT_ALIASES else tenant
    return OpenIdConfiguration(
        issuer=dev_issuer(runtime.settings, issuer_tenant),
        token_endpoint=f"{base}/{tenant}/oauth2/v2.0/token",
        jwks_uri=f"{base}/{tenant}/discovery/v2.0/keys",
        # Not served (app-only issuer), but MSAL refuses a discovery document without it.
        authorization_endpoint=f"{base}/{tenant}/oauth2/v2.0/authorize",
        token_endpoint_auth_methods_supported=["client_secret_post", "client_secret_basic"],
        grant_types_supported=["client_credentials"],
        id_token_signing_alg_values_supported=["RS256"],
        response_types_supported=["token"],
        subject_types_supported=["pairwise"],
        scopes_supported=[
            "https://graph.microsoft.com/.default",
            "https://api.partnercenter.microsoft.com/.default",
        ],
        tenant_region_scope=None,
        cloud_instance_name="billport.local",
    )


@router.get(
    "/{tenant}/discovery/instance",
    response_model=InstanceDiscovery,
    responses={400: {"model": OAuthErrorBody, "description": "invalid_instance: not this host"}},
    summary="Dev issuer: instance discovery (msal's authority validation)",
)
def instance_discovery(
    tenant: str,
    request: Request,
    runtime: RuntimeDep,
    authorization_endpoint: str | None = None,
) -> JSONResponse:
    """Entra's answer for an authority on billport's own host; any other host is unknown.

    msal asks this before trusting an authority it does not know (``instance_discovery=``
    this URL); the tenant metadata it points at is always the v2.0 document.
    """
    base = base_url(request, runtime.settings)
    asked = urlsplit(authorization_endpoint or "")
    if not asked.path.strip("/"):
        error = OAuthError(
            "invalid_request",
            "AADSTS90014: The required field 'authorization_endpoint' is missing.",
            code=90014,
        )
        return oauth_error(request, error, {})
    host = urlsplit(base).netloc
    # Host names only: msal builds the endpoint it asks about without the authority's port.
    if asked.scheme != "https" or asked.hostname != urlsplit(base).hostname:
        error = OAuthError(
            "invalid_instance", "AADSTS50049: Unknown or invalid instance.", code=50049
        )
        return oauth_error(request, error, {})
    authority = asked.path.strip("/").split("/")[0]
    body = InstanceDiscovery(
        tenant_discovery_endpoint=f"{base}/{authority}/v2.0/.well-known/openid-configuration",
        metadata=[InstanceMetadata(preferred_network=host, preferred_cache=host, aliases=[host])],
    )
    return JSONResponse(body.model_dump(by_alias=True))
