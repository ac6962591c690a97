"""``GET /{v1.0,beta}/$metadata``, and ``405`` for what the SDKs expose but billport does not
serve: every other method on every URL of the declared model (billing/graph_model.py).

The Kiota SDKs generate update, delete and list requests for the contained singletons and
collections (``Update-MgReportPartnerBilling``, ``DeletePartnerBillingUsageBilled``, ...;
additions-2026.md §1.1). They answer ``405`` in the Graph error envelope, with an ``Allow``
header naming the methods the app does route for that URL (none for most of them). This
router is included after the Graph router, whose routes therefore match first.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from billport.billing.graph_model import VERSIONS, graph_model, resources
from billport.server.csdl import MEDIA_TYPE, metadata_document

router = APIRouter()
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _metadata_handler(version: str) -> Callable[[], Response]:
    def get_metadata() -> Response:
        return Response(metadata_document(version), media_type=MEDIA_TYPE)

    return get_metadata


def _first_match(request: Request, method: str) -> BaseRoute | None:
    """The app's route (a router it includes, or a route) that answers ``method`` here."""
    # A scope of its own: matching writes to it (FastAPI keeps state under a key).
    scope = {"type": "http", "path": request.scope["path"], "method": method}
    for route in request.app.routes:
        if route.matches(scope)[0] is Match.FULL:
            return route  # type: ignore[no-any-return]
    return None


def _allowed(request: Request) -> list[str]:
    """The methods that another route answers at this URL, in :data:`METHODS` order.

    Routers are asked through Starlette's public ``matches``: a method is allowed when the
    first route that fully matches it is not the one that matched this request (this router,
    included last)."""
    own = _first_match(request, request.method)
    return [m for m in METHODS if _first_match(request, m) not in (own, None)]


def not_allowed(request: Request) -> Response:
    """A URL of the model with a method billport does not implement there."""
    path = request.url.path
    raise StarletteHTTPException(
        405,
        f"The HTTP method '{request.method}' is not supported on '{path}'.",
        headers={"Allow": ", ".join(_allowed(request))},
    )


def _register() -> None:
    for version in VERSIONS:
        router.add_api_route(
            f"/{version}/$metadata",
            _metadata_handler(version),
            methods=["GET"],
            tags=[f"graph {version}"],
            summary=f"Service metadata: CSDL of the partner billing model ({version})",
            operation_id=f"get_metadata_{version}".replace(".", "_"),
            response_class=Response,
            responses={200: {"description": "OData v4 CSDL", "content": {"application/xml": {}}}},
        )
        for resource in resources(graph_model(version)):
            router.add_api_route(
                f"/{version}{resource.path}",
                not_allowed,
                methods=list(METHODS),
                include_in_schema=False,
            )


_register()
