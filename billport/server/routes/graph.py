"""Microsoft Graph partner billing: export actions, operations, manifests (v1.0 and beta)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from billport.billing.datasets import Dataset
from billport.errors import InvalidRequest
from billport.runtime import Runtime
from billport.server import graph_views
from billport.server.auth import AUTH_RESPONSES, GraphPrincipal
from billport.server.deps import get_runtime
from billport.server.urls import base_url
from billport.store.manifests import Manifest
from billport.usecases import operations
from billport.usecases.scenarios import Applied, applied_scenario

router = APIRouter()
VERSIONS = ("v1.0", "beta")
ACTIONS = ("export", "microsoft.graph.partners.billing.export")
BILLING = "reports/partners/billing"
GRAPH_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def json_body(request: Request) -> Any:
    """The parsed JSON body; malformed JSON is a Graph 400."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("The request body is empty: a JSON object is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None


def _body_schema(dataset: Dataset) -> dict[str, Any]:
    attribute_set = {"type": "string", "enum": ["full", "basic"], "default": "full"}
    if dataset.billed:
        props: dict[str, Any] = {"invoiceId": {"type": "string", "minLength": 1, "maxLength": 20}}
        required = ["invoiceId"]
    else:
        props = {
            "billingPeriod": {"type": "string", "enum": ["current", "last"]},
            "currencyCode": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
        }
        required = ["billingPeriod", "currencyCode"]
    if dataset.attribute_sets:
        props["attributeSet"] = attribute_set
    schema = {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _export_handler(dataset: Dataset, version: str) -> Callable[..., Response]:
    def export(
        request: Request,
        principal: GraphPrincipal,
        runtime: RuntimeDep,
        body: Annotated[Any, Depends(json_body)],
    ) -> Response:
        op = operations.request_export(
            runtime.db, runtime.clock, principal.tenant_id, dataset, body
        )
        root = base_url(request, runtime.settings)
        location = f"{root}/{version}/{BILLING}/operations/{op.operation_id}"
        return Response(status_code=202, headers={"Location": location})

    return export


def _scenario(request: Request, runtime: Runtime, tenant_id: str) -> Applied:
    """The tenant's sandbox scenario; the sandbox middleware usually resolved it already."""
    resolved = getattr(request.state, "scenario", None)
    if resolved is not None and resolved[0] == tenant_id:
        return resolved[1]  # type: ignore[no-any-return]
    return applied_scenario(runtime.db, runtime.settings, tenant_id)


def _manifest_body(
    request: Request, runtime: Runtime, manifest: Manifest, applied: Applied
) -> dict[str, Any]:
    """Manifest JSON with a freshly minted SAS, as the real service does on every read.

    The blob store decides where clients download from (billport's ``/blobs/`` route or the
    storage account itself) and how the token is signed; the scenario may shorten the SAS.
    """
    scenario = applied.scenario
    lifetime = scenario.sas_lifetime
    location = runtime.blobs.download_location(
        manifest.root_path,
        base_url=base_url(request, runtime.settings),
        now=runtime.clock(),
        lifetime=runtime.settings.sas_lifetime if lifetime is None else lifetime,
    )
    return graph_views.manifest_json(
        manifest,
        root_directory=location.root_directory,
        sas_token=location.sas_token,
        data_format=scenario.data_format,
        partition_type=scenario.partition_type,
        schema_version=scenario.schema_version,
    )


def _operation_handler(version: str) -> Callable[..., Response]:
    def get_operation(
        operation_id: str, request: Request, principal: GraphPrincipal, runtime: RuntimeDep
    ) -> Response:
        applied = _scenario(request, runtime, principal.tenant_id)
        scenario = applied.scenario
        view = operations.read_operation(
            runtime.db,
            principal.tenant_id,
            operation_id,
            progression=scenario.progression,
            now=runtime.clock(),
        )
        manifest = None
        if view.manifest:
            manifest = _manifest_body(request, runtime, view.manifest, applied)
        root = f"{base_url(request, runtime.settings)}/{version}"
        body = graph_views.operation_json(
            view, service_root=root, manifest=manifest, mode=scenario.manifest or "both"
        )
        headers = {}
        if not view.operation.status.terminal:
            retry_after = scenario.retry_after
            headers["Retry-After"] = str(
                runtime.settings.retry_after if retry_after is None else retry_after
            )
        return JSONResponse(body, headers=headers, media_type=GRAPH_JSON)

    return get_operation


def _manifest_handler(version: str) -> Callable[..., Response]:
    def get_manifest(
        manifest_id: str, request: Request, principal: GraphPrincipal, runtime: RuntimeDep
    ) -> Response:
        manifest = operations.read_manifest(runtime.db, principal.tenant_id, manifest_id)
        applied = _scenario(request, runtime, principal.tenant_id)
        body = {
            "@odata.context": f"{base_url(request, runtime.settings)}/{version}/$metadata"
            "#reports/partners/billing/manifests/$entity",
            **_manifest_body(request, runtime, manifest, applied),
        }
        return JSONResponse(body, media_type=GRAPH_JSON)

    return get_manifest


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request (Graph error envelope)"},
    **AUTH_RESPONSES,
}


def _register() -> None:
    for version in VERSIONS:
        for dataset in Dataset:
            if version not in dataset.versions:
                _add_missing_segment(version, dataset)
                continue
            for action in ACTIONS:
                router.add_api_route(
                    f"/{version}/{BILLING}/{dataset.url_path}/{action}",
                    _export_handler(dataset, version),
                    methods=["POST"],
                    status_code=202,
                    tags=[f"graph {version}"],
                    summary=f"Export {dataset.value} ({version})",
                    operation_id=f"export_{dataset.value}_{version}_{action}".replace(".", "_"),
                    response_class=Response,
                    responses={
                        202: {
                            "description": "Accepted; Location points at the operation",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                        },
                        **_ERRORS,
                    },
                    openapi_extra=_body_schema(dataset),
                )
        _add_get(
            version,
            "operations",
            _operation_handler(version),
            "Get a long-running export operation",
            "runningOperation, exportSuccessOperation or failedOperation",
        )
        _add_get(
            version,
            "manifests",
            _manifest_handler(version),
            "Get an export manifest",
            "The manifest",
        )


def _add_missing_segment(version: str, dataset: Dataset) -> None:
    """A beta-only action under another version: Graph's answer to a segment that version's
    schema lacks (``400 BadRequest``, "Resource not found for the segment …")."""
    segment = dataset.url_path.split("/")[0]

    def missing(principal: GraphPrincipal, rest: str = "") -> Response:  # signed in first
        raise InvalidRequest(f"Resource not found for the segment '{segment}'.")

    router.add_api_route(
        f"/{version}/{BILLING}/{segment}{{rest:path}}",
        missing,
        methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        include_in_schema=False,
    )


def _add_get(
    version: str, collection: str, handler: Callable[..., Response], summary: str, found: str
) -> None:
    """``GET /{version}/reports/partners/billing/{collection}/{id}``."""
    singular = collection.removesuffix("s")
    router.add_api_route(
        f"/{version}/{BILLING}/{collection}/{{{singular}_id}}",
        handler,
        methods=["GET"],
        tags=[f"graph {version}"],
        summary=f"{summary} ({version})",
        operation_id=f"get_{singular}_{version}".replace(".", "_"),
        response_class=JSONResponse,
        responses={
            200: {
                "description": found,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            404: {"description": f"Unknown {singular}"},
            **_ERRORS,
        },
    )


_register()
