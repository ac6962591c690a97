"""The admin API of resellers and markup rules, under ``/_billport/`` (admin token only).

The same use cases as ``billport resellers`` (usecases/resellers.py); each change rebuilds
the views it affects before it answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from billport.auth.partners import forget_partners
from billport.errors import InvalidRequest
from billport.server.routes.admin import (
    ADMIN_RESPONSES,
    RuntimeDep,
    TenantPath,
    request_body,
    require_admin,
)
from billport.server.routes.graph import json_body
from billport.usecases import resellers
from billport.usecases.resellers import ResellerRequest, reseller_json, view_json

router = APIRouter(
    prefix="/_billport",
    tags=["sandbox admin"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_RESPONSES,
)
ProviderQuery = Annotated[
    str | None,
    Query(max_length=36, description="The provider's tenant id (default: the default partner)"),
]
_IDS = {"type": "array", "items": {"type": "string", "maxLength": 36}}
RESELLER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "mpnId": {"type": "string", "maxLength": 20},
        "customers": _IDS,
        "tier2MpnIds": _IDS,
        "provider": {"type": "string", "maxLength": 36},
        "client": {"type": "boolean", "default": True},
    },
    "additionalProperties": False,
}
_ACTION = {"type": ["string", "number"]}
_RULE = {
    "type": "object",
    "properties": {
        **{key: {"type": "string"} for key in
           ("reseller", "customer", "product", "sku", "meter", "chargeType", "currency")},
        "percent": _ACTION,
        "price": _ACTION,
    },
}  # fmt: skip
RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"default": _RULE, "rules": {"type": "array", "items": _RULE}},
    "additionalProperties": False,
}


def _request(tenant_id: str, body: Any) -> ResellerRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object (see the schema).")
    unknown = sorted(set(body) - set(RESELLER_SCHEMA["properties"]))
    if unknown:
        raise InvalidRequest(f"Unknown key {unknown[0]!r}.")
    name, mpn, provider = body.get("name"), body.get("mpnId", ""), body.get("provider")
    if not isinstance(name, str) or not isinstance(mpn, str):
        raise InvalidRequest("'name' and 'mpnId' must be strings.")
    if provider is not None and not isinstance(provider, str):
        raise InvalidRequest("'provider' must be a tenant id.")
    lists = []
    for key in ("customers", "tier2MpnIds"):
        value = body.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidRequest(f"'{key}' must be a list of strings.")
        lists.append(tuple(value))
    client = body.get("client", True)
    if not isinstance(client, bool):
        raise InvalidRequest("'client' must be true or false.")
    return ResellerRequest(tenant_id, name, mpn, lists[0], lists[1], provider, client)


@router.get("/resellers", summary="The resellers (of one provider)", operation_id="list_resellers")
def list_resellers(runtime: RuntimeDep, provider: ProviderQuery = None) -> dict[str, Any]:
    found = resellers.list_resellers(runtime.db, provider)
    return {"count": len(found), "value": [reseller_json(r) for r in found]}


@router.put(
    "/resellers/{tenantId}",
    summary="Declare or change a reseller, and build its view",
    operation_id="put_reseller",
    openapi_extra=request_body(RESELLER_SCHEMA),
)
def put_reseller(
    runtime: RuntimeDep, tenant_id: TenantPath, body: Annotated[Any, Depends(json_body)]
) -> dict[str, Any]:
    result = resellers.add_reseller(runtime.db, _request(tenant_id, body), runtime.clock())
    out: dict[str, Any] = {
        "reseller": reseller_json(result.reseller),
        "created": result.created,
        "views": [view_json(v) for v in result.views],
    }
    if result.client is not None:  # shown once: the store keeps only its hash
        out["client"] = {"clientId": result.client.client_id, "secret": result.client.secret}
    return out


@router.delete(
    "/resellers/{tenantId}",
    summary="Remove a reseller: its tenant, clients and view",
    operation_id="delete_reseller",
)
def delete_reseller(runtime: RuntimeDep, tenant_id: TenantPath) -> dict[str, Any]:
    gone = resellers.remove_reseller(runtime.db, tenant_id)
    forget_partners(runtime.db)
    return {"removed": reseller_json(gone)}


@router.post(
    "/resellers/refresh",
    summary="Rebuild the resellers' views (after the provider's data changed)",
    operation_id="refresh_resellers",
)
def refresh_resellers(runtime: RuntimeDep, provider: ProviderQuery = None) -> dict[str, Any]:
    return {"views": [view_json(v) for v in resellers.refresh(runtime.db, provider)]}


@router.get("/markup-rules", summary="A provider's markup rules", operation_id="get_markup_rules")
def get_markup_rules(runtime: RuntimeDep, provider: ProviderQuery = None) -> dict[str, Any]:
    provider_id, document = resellers.rules_of(runtime.db, provider)
    return {"provider": provider_id, **document}


@router.put(
    "/markup-rules",
    summary="Replace a provider's markup rules, and rebuild its resellers' views",
    operation_id="put_markup_rules",
    openapi_extra=request_body(RULES_SCHEMA),
)
def put_markup_rules(
    runtime: RuntimeDep, body: Annotated[Any, Depends(json_body)], provider: ProviderQuery = None
) -> dict[str, Any]:
    document, views = resellers.set_rules(runtime.db, body, runtime.clock(), provider)
    provider_id, _ = resellers.rules_of(runtime.db, provider)
    return {"provider": provider_id, **document, "views": [view_json(v) for v in views]}
