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

from billport.billing.ids import check_tenant_id
from billport.errors import AuthenticationError, InvalidRequest, PermissionDenied
from billport.runtime import Runtime
from billport.sandbox.compliance import report_json, stamp
from billport.sandbox.scenario import SCENARIO_SCHEMA
from billport.server.auth import bearer_token
from billport.server.deps import get_runtime, recorder_of
from billport.server.routes.graph import json_body
from billport.store.request_log import LoggedRequest
from billport.usecases import admin, request_log, scenarios

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
    runtime: Runtime = request.app.state.runtime
    if hmac.compare_digest(token.encode(), runtime.keys.admin_token.encode()):
        return
    if token.count(".") == 2:
        raise PermissionDenied(
            "Partner access tokens cannot call the admin API: use the admin token "
            "(billport token --admin)."
        )
    raise AuthenticationError("Invalid admin token.")


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
TenantPath = Annotated[str, Path(alias="tenantId", min_length=1, max_length=36)]
_OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "OK", **_OBJECT},
    400: {"description": "Invalid input (the message names the key)"},
    401: {"description": "No admin token, or a wrong one"},
    403: {"description": "A partner access token: the admin API needs the admin token"},
}
router = APIRouter(
    prefix="/_billport",
    tags=["sandbox admin"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_RESPONSES,
)


def request_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
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
    return check_tenant_id(tenant_id)


def _server_view(runtime: Runtime) -> dict[str, Any]:
    applied = scenarios.applied_scenario(runtime.db, runtime.settings, None)
    return {
        "scope": "server",
        **applied.to_json(),
        "tenants": scenarios.tenants_with_scenarios(runtime.db),
    }


def _tenant_view(runtime: Runtime, tenant_id: str) -> dict[str, Any]:
    applied = scenarios.applied_scenario(runtime.db, runtime.settings, tenant_id)
    return {"scope": "tenant", "tenantId": tenant_id, **applied.to_json()}


@router.get("/scenario", summary="The server-wide scenario", operation_id="get_scenario")
def get_scenario(runtime: RuntimeDep) -> dict[str, Any]:
    return _server_view(runtime)


@router.put(
    "/scenario",
    summary="Replace the server-wide scenario",
    operation_id="put_scenario",
    openapi_extra=request_body(SCENARIO_SCHEMA),
)
def put_scenario(runtime: RuntimeDep, body: Annotated[Any, Depends(json_body)]) -> dict[str, Any]:
    scenarios.set_scenario(runtime.db, runtime.clock, None, body)
    return _server_view(runtime)


@router.delete(
    "/scenario",
    summary="Drop every run-time scenario (server-wide and per tenant): back to settings",
    operation_id="delete_scenario",
)
def delete_scenario(runtime: RuntimeDep) -> dict[str, Any]:
    scenarios.clear_scenario(runtime.db, runtime.clock, None)
    return _server_view(runtime)


@router.get(
    "/tenants/{tenantId}/scenario",
    summary="The scenario in force for one tenant",
    operation_id="get_tenant_scenario",
)
def get_tenant_scenario(runtime: RuntimeDep, tenant_id: TenantPath) -> dict[str, Any]:
    return _tenant_view(runtime, _tenant(tenant_id))


@router.put(
    "/tenants/{tenantId}/scenario",
    summary="Give one tenant its own scenario",
    operation_id="put_tenant_scenario",
    openapi_extra=request_body(SCENARIO_SCHEMA),
)
def put_tenant_scenario(
    runtime: RuntimeDep,
    body: Annotated[Any, Depends(json_body)],
    tenant_id: TenantPath,
) -> dict[str, Any]:
    tenant = _tenant(tenant_id)
    scenarios.set_scenario(runtime.db, runtime.clock, tenant, body)
    return _tenant_view(runtime, tenant)


@router.delete(
    "/tenants/{tenantId}/scenario",
    summary="Drop one tenant's scenario: it follows the server-wide one again",
    operation_id="delete_tenant_scenario",
)
def delete_tenant_scenario(runtime: RuntimeDep, tenant_id: TenantPath) -> dict[str, Any]:
    tenant = _tenant(tenant_id)
    scenarios.clear_scenario(runtime.db, runtime.clock, tenant)
    return _tenant_view(runtime, tenant)


_RESET_SCHEMA = {
    "type": "object",
    "properties": {"all": {"type": "boolean", "default": False}},
    "additionalProperties": False,
}


@router.post(
    "/reset",
    summary="Forget operations, manifests, blobs and the request log ({all: true}: all data)",
    operation_id="reset_sandbox",
    openapi_extra=request_body(_RESET_SCHEMA, required=False),
)
def reset(
    request: Request, runtime: RuntimeDep, body: Annotated[Any, Depends(optional_json_body)]
) -> dict[str, Any]:
    body = {} if body is None else body
    if not isinstance(body, dict) or set(body) - {"all"}:
        raise InvalidRequest('The reset body must be {"all": true|false} or empty.')
    all_data = body.get("all", False)
    if not isinstance(all_data, bool):
        raise InvalidRequest("'all' must be true or false.")
    recorder_of(request.app).flush()  # calls made before the reset go with it
    report = admin.reset(runtime.db, runtime.blobs, all_data=all_data)
    return {
        "operations": report.operations,
        "manifests": report.manifests,
        "blobs": report.blobs,
        "requests": report.requests,
        "allData": report.all_data,
    }


@router.post(
    "/seed",
    summary="Seed synthetic data (the options of `billport seed`)",
    operation_id="seed_sandbox",
    openapi_extra=request_body(admin.SEED_SCHEMA, required=False),
)
def seed(runtime: RuntimeDep, body: Annotated[Any, Depends(optional_json_body)]) -> dict[str, Any]:
    seeded = admin.seed(runtime.db, runtime.blobs, runtime.clock(), admin.parse_seed_request(body))
    if seeded.appended is not None:
        added = seeded.appended
        return {
            "tenantId": added.tenant_id,
            "invoiceId": added.invoice_id,
            "createdInvoice": added.created_invoice,
            "lineItems": sum(added.added.values()),
        }
    assert seeded.store is not None
    report = seeded.store
    return {
        "tenants": [p.tenant_id for p in report.partners],
        "defaultTenant": next(p for p in report.partners if p.is_default).tenant_id,
        "invoices": len(report.invoices),
        "lineItems": report.total_line_items,
    }


@router.get("/requests", summary="Recent API calls of every replica", operation_id="list_requests")
def list_requests(
    request: Request,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    client: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    recorder_of(request.app).flush()  # this process's calls up to now
    rows = request_log.recent_requests(runtime.db, limit=limit, client=client)
    return {"count": len(rows), "value": [_request_json(r) for r in rows]}


def _request_json(row: LoggedRequest) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": stamp(row.received_at),
        "client": row.client,
        "tenantId": row.tenant_id,
        "method": row.method,
        "path": row.path,
        "status": row.status,
        "latencyMs": row.latency_ms,
        "injectedDelayMs": row.delay_ms,
        "fault": row.fault,
        "retryAfter": row.retry_after,
        "requestId": row.request_id,
        # False: the caller proved nothing (no valid token or SAS); its client label is a claim
        "verified": row.verified,
    }


@router.get(
    "/compliance",
    summary="Per client: did it wait the Retry-After it was given?",
    operation_id="get_compliance",
)
def get_compliance(
    request: Request,
    runtime: RuntimeDep,
    client: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    recorder_of(request.app).flush()
    return report_json(request_log.compliance_report(runtime.db, client=client))
