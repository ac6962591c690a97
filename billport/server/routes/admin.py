"""The sandbox admin API under ``/_billport/``: scenarios, reset, seed, request log, compliance.

Authenticated with the admin token (``billport token --admin``) as a bearer token. Partner
access tokens are refused with 403 even when valid: the admin API changes what every
tenant sees, so no tenant may call it.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billport.errors import AuthenticationError, InvalidRequest, PermissionDenied
from billport.runtime import Services
from billport.sandbox import admin, book
from billport.sandbox.compliance import compliance, report_json
from billport.server.auth import bearer_token
from billport.server.routes.graph import json_body
from billport.server.services import get_services
from billport.store import request_log

_admin_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="The sandbox admin token (`billport token --admin`); never a partner token.",
)


def require_admin(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_scheme)],
) -> None:
    """401 without a bearer token or with a wrong one; 403 for a partner's access token."""
    token = bearer_token(request)
    services: Services = request.app.state.services
    if hmac.compare_digest(token.encode(), services.keys.admin_token.encode()):
        return
    if token.count(".") == 2:
        raise PermissionDenied(
            "Partner access tokens cannot call the admin API: use the admin token "
            "(billport token --admin)."
        )
    raise AuthenticationError("Invalid admin token.")


ServicesDep = Annotated[Services, Depends(get_services)]
TenantPath = Annotated[str, Path(alias="tenantId", min_length=1, max_length=36)]
_OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "OK", **_OBJECT},
    400: {"description": "Invalid input (the message names the key)"},
    401: {"description": "No admin token, or a wrong one"},
    403: {"description": "A partner access token: the admin API needs the admin token"},
}
router = APIRouter(
    prefix="/_billport",
    tags=["sandbox admin"],
    dependencies=[Depends(require_admin)],
    responses=_RESPONSES,
)

_SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A scenario document; see docs/sandbox.md. Unknown keys are refused.",
    "properties": {
        "progression": {"type": "string", "example": "polls:3"},
        "retryAfter": {"type": "integer", "minimum": 0},
        "failures": {"type": "array", "items": {"type": "object"}},
        "faults": {"type": "array", "items": {"type": "object"}},
        "latencyMs": {"oneOf": [{"type": "integer"}, {"type": "array"}]},
        "sasLifetime": {"type": "integer", "minimum": 0},
        "dataFormat": {"type": "string", "enum": ["compressedJSON", "compressedJSONLines"]},
        "manifest": {"type": "string", "enum": ["inline", "link", "both"]},
        "seed": {"type": "integer"},
    },
}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": required, "content": content}}


async def optional_json_body(request: Request) -> Any:
    """The JSON body, or ``None`` when there is none (reset and seed take defaults)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None


def _tenant(tenant_id: str) -> str:
    cleaned = tenant_id.strip()
    if not 1 <= len(cleaned) <= 36:
        raise InvalidRequest("'tenantId' must be a tenant id of 1 to 36 characters.")
    return cleaned


def _server_view(services: Services) -> dict[str, Any]:
    applied = book.applied_scenario(services.db, services.settings, None)
    return {
        "scope": "server",
        **applied.to_json(),
        "tenants": book.tenants_with_scenarios(services.db),
    }


def _tenant_view(services: Services, tenant_id: str) -> dict[str, Any]:
    applied = book.applied_scenario(services.db, services.settings, tenant_id)
    return {"scope": "tenant", "tenantId": tenant_id, **applied.to_json()}


@router.get("/scenario", summary="The server-wide scenario", operation_id="get_scenario")
def get_scenario(services: ServicesDep) -> dict[str, Any]:
    return _server_view(services)


@router.put(
    "/scenario",
    summary="Replace the server-wide scenario",
    operation_id="put_scenario",
    openapi_extra=_body(_SCENARIO_SCHEMA),
)
def put_scenario(services: ServicesDep, body: Annotated[Any, Depends(json_body)]) -> dict[str, Any]:
    book.set_scenario(services.db, services.clock, None, body)
    return _server_view(services)


@router.delete(
    "/scenario",
    summary="Drop every run-time scenario (server-wide and per tenant): back to settings",
    operation_id="delete_scenario",
)
def delete_scenario(services: ServicesDep) -> dict[str, Any]:
    book.clear_scenario(services.db, services.clock, None)
    return _server_view(services)


@router.get(
    "/tenants/{tenantId}/scenario",
    summary="The scenario in force for one tenant",
    operation_id="get_tenant_scenario",
)
def get_tenant_scenario(services: ServicesDep, tenant_id: TenantPath) -> dict[str, Any]:
    return _tenant_view(services, _tenant(tenant_id))


@router.put(
    "/tenants/{tenantId}/scenario",
    summary="Give one tenant its own scenario",
    operation_id="put_tenant_scenario",
    openapi_extra=_body(_SCENARIO_SCHEMA),
)
def put_tenant_scenario(
    services: ServicesDep,
    body: Annotated[Any, Depends(json_body)],
    tenant_id: TenantPath,
) -> dict[str, Any]:
    tenant = _tenant(tenant_id)
    book.set_scenario(services.db, services.clock, tenant, body)
    return _tenant_view(services, tenant)


@router.delete(
    "/tenants/{tenantId}/scenario",
    summary="Drop one tenant's scenario: it follows the server-wide one again",
    operation_id="delete_tenant_scenario",
)
def delete_tenant_scenario(services: ServicesDep, tenant_id: TenantPath) -> dict[str, Any]:
    tenant = _tenant(tenant_id)
    book.clear_scenario(services.db, services.clock, tenant)
    return _tenant_view(services, tenant)


_RESET_SCHEMA = {
    "type": "object",
    "properties": {"all": {"type": "boolean", "default": False}},
    "additionalProperties": False,
}


@router.post(
    "/reset",
    summary="Forget operations, manifests, blobs and the request log ({all: true}: all data)",
    operation_id="reset_sandbox",
    openapi_extra=_body(_RESET_SCHEMA, required=False),
)
def reset(
    services: ServicesDep, body: Annotated[Any, Depends(optional_json_body)]
) -> dict[str, Any]:
    body = {} if body is None else body
    if not isinstance(body, dict) or set(body) - {"all"}:
        raise InvalidRequest('The reset body must be {"all": true|false} or empty.')
    all_data = body.get("all", False)
    if not isinstance(all_data, bool):
        raise InvalidRequest("'all' must be true or false.")
    return admin.reset(services, all_data=all_data)


_SEED_SCHEMA = {
    "type": "object",
    "properties": {
        "seed": {"type": "integer"},
        "lineItems": {"type": "integer", "minimum": 0, "maximum": admin.MAX_SEED_LINE_ITEMS},
        "tenants": {"type": "integer", "minimum": 1, "maximum": 50},
        "customers": {"type": "integer", "minimum": 1, "maximum": 1000},
        "months": {"type": "integer", "minimum": 1, "maximum": 36},
        "demo": {"type": "boolean"},
        "reset": {"type": "boolean"},
        "invoice": {"type": "string", "maxLength": 20},
    },
    "additionalProperties": False,
}


@router.post(
    "/seed",
    summary="Seed synthetic data (the options of `billport seed`)",
    operation_id="seed_sandbox",
    openapi_extra=_body(_SEED_SCHEMA, required=False),
)
def seed(
    services: ServicesDep, body: Annotated[Any, Depends(optional_json_body)]
) -> dict[str, Any]:
    return admin.seed(services, admin.parse_seed_request(body))


@router.get("/requests", summary="Recent API calls of every replica", operation_id="list_requests")
def list_requests(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    client: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    with services.db.connect() as conn:
        rows = request_log.recent_requests(conn, limit=limit, client=client)
    return {"count": len(rows), "value": [r.to_json() for r in rows]}


@router.get(
    "/compliance",
    summary="Per client: did it wait the Retry-After it was given?",
    operation_id="get_compliance",
)
def get_compliance(
    services: ServicesDep, client: Annotated[str | None, Query(max_length=200)] = None
) -> dict[str, Any]:
    with services.db.connect() as conn:
        rows = request_log.recent_requests(conn, client=client)
    return report_json(compliance(rows))
