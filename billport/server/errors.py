"""The one place where errors become HTTP responses, per API surface.

- Partner Center (``/v1/...``): ``{"code", "description", "data", "source"}``
- Graph (``/v1.0/...``, ``/beta/...``): ``{"error": {"code", "message", "innerError"}}``
- Blob downloads (``/blobs/...``): Azure Storage XML ``<Error><Code/><Message/></Error>``
- everything else (identity, admin): the Graph envelope
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from billport.errors import (
    AuthenticationError,
    BillportError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)

STATUS_BY_ERROR: list[tuple[type[BillportError], int]] = [
    (InvalidRequest, 400),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
]

# Partner Center numeric codes per HTTP status (spec §5.4).
PARTNER_CENTER_CODES = {400: 800002, 401: 800001, 403: 2032, 404: 1000, 405: 800002, 500: 800003}

GRAPH_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "itemNotFound",
    405: "notSupported",
    429: "TooManyRequests",
    500: "generalException",
    503: "serviceNotAvailable",
}


def request_id(request: Request) -> str:
    """The id of this request (set by the request-id middleware)."""
    return getattr(request.state, "request_id", None) or str(uuid.uuid4())


def surface(path: str) -> str:
    if path.startswith("/v1/"):
        return "partner-center"
    if path.startswith("/blobs/"):
        return "blob"
    return "graph"


def partner_center_error(request: Request, status: int, description: str) -> JSONResponse:
    body = {
        "code": PARTNER_CENTER_CODES.get(status, status),
        "description": description,
        "data": [],
        "source": "PartnerFD",
    }
    # Partner Center answers errors with the same Content-Type as successes (spec §5.2).
    return JSONResponse(body, status_code=status, media_type="application/json; charset=utf-8")


def graph_error(
    request: Request, status: int, message: str, code: str | None = None
) -> JSONResponse:
    body = {
        "error": {
            "code": code or GRAPH_CODES.get(status, "generalException"),
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id(request),
                "client-request-id": request.headers.get("client-request-id")
                or request_id(request),
            },
        }
    }
    return JSONResponse(body, status_code=status)


def blob_error(request: Request, status: int, code: str, message: str) -> Response:
    rid = request_id(request)
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}\n"
        f"RequestId:{rid}\nTime:{datetime.now(UTC).isoformat()}</Message></Error>"
    )
    headers = {"x-ms-error-code": code, "x-ms-request-id": rid}
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return Response(xml, status_code=status, media_type="application/xml", headers=headers)


def error_response(
    request: Request, status: int, message: str, code: str | None = None
) -> Response:
    """Shape an error for the surface the request came in on."""
    kind = surface(request.url.path)
    if kind == "partner-center":
        return partner_center_error(request, status, message)
    if kind == "blob":
        return blob_error(request, status, code or "AuthenticationFailed", message)
    response = graph_error(request, status, message, code)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="billport"'
    return response


def status_for(exc: BillportError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BillportError)
    async def _domain(request: Request, exc: BillportError) -> Response:
        status = status_for(exc)
        code = exc.code if surface(request.url.path) != "partner-center" else None
        return error_response(request, status, exc.message, code)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"Invalid request: {where}: {first.get('msg', 'invalid')}".replace(": :", ":")
        return error_response(request, 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Resource not found for the segment '{request.url.path}'."
        response = error_response(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return error_response(request, 500, "An unexpected error occurred.")
