"""The one place where errors become HTTP responses, per API surface.

- Partner Center (``/v1/...``): ``{"code", "description", "data", "source"}``
- Graph (``/v1.0/...``, ``/beta/...``): ``{"error": {"code", "message", "innerError"}}``
- Blob downloads (``/blobs/...``): Azure Storage XML ``<Error><Code/><Message/></Error>``
- the development issuer's OAuth2 endpoints: ``{"error", "error_description", ...}``
  (:func:`oauth2_error`, returned by those routes for OAuth2 errors they detect)
- everything else (admin, the issuer's other failures): the Graph envelope

Times in error bodies come from the app's injected clock, like every other time it shows.
A 503 (the database or blob storage cannot be reached) carries ``Retry-After``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from billport.errors import (
    AuthenticationError,
    BillportError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from billport.server.request_ids import new_request_id

log = logging.getLogger("billport.server")

STATUS_BY_ERROR: list[tuple[type[BillportError], int]] = [
    (InvalidRequest, 400),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ServiceUnavailable, 503),
]

# Partner Center numeric codes per HTTP status (spec §5.4).
PARTNER_CENTER_CODES = {
    400: 800002,
    401: 800001,
    403: 2032,
    404: 1000,
    405: 800002,
    500: 800003,
    503: 800003,
}

# Azure Storage error codes per HTTP status, when the caller names none.
BLOB_CODES = {
    400: "InvalidQueryParameterValue",
    403: "AuthenticationFailed",
    404: "BlobNotFound",
    405: "UnsupportedHttpVerb",
    416: "InvalidRange",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServerBusy",
}

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


def now(request: Request) -> datetime:
    """The app's clock (a pinned or manual one in the sandbox and tests)."""
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.clock() if runtime is not None else datetime.now(UTC)


def request_id(request: Request) -> str:
    """The id of this request (set by the request-id middleware)."""
    return getattr(request.state, "request_id", None) or new_request_id()


_IDENTITY_PATH = re.compile(r"^/[^/]+/(oauth2/|discovery/|v2\.0/\.well-known/)")
# OAuth2 error codes (RFC 6749 §5.2, Entra ID) for errors not raised as an OAuthError.
OAUTH2_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    404: "invalid_request",
    405: "invalid_request",
    503: "temporarily_unavailable",
}


def surface(path: str) -> str:
    """Which API a path belongs to, hence the shape of its errors."""
    if path.startswith("/v1/"):
        return "partner-center"
    if path.startswith("/blobs/"):
        return "blob"
    if _IDENTITY_PATH.match(path):
        return "oauth2"
    return "graph"


def _utf8(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate (echoed input) becomes ``\\udXXX``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def partner_center_error(request: Request, status: int, description: str) -> JSONResponse:
    body = {
        "code": PARTNER_CENTER_CODES.get(status, status),
        "description": _utf8(description),
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
            "message": _utf8(message),
            "innerError": {
                "date": now(request).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id(request),
                "client-request-id": request.headers.get("client-request-id")
                or request_id(request),
            },
        }
    }
    return JSONResponse(body, status_code=status)


# What XML 1.0 cannot carry even escaped: controls other than tab/newline/return, surrogates.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` escaped for an XML element, characters XML cannot hold as ``\\xNN``."""
    return escape(_NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode(), text))


def blob_error(request: Request, status: int, code: str, message: str) -> Response:
    rid = request_id(request)
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{_xml_text(code)}</Code><Message>{_xml_text(message)}\n"
        f"RequestId:{rid}\nTime:{now(request).isoformat()}</Message></Error>"
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
    if kind == "oauth2":
        error = OAUTH2_ERRORS.get(status, "server_error")
        response: Response = oauth2_error(request, status, error, message)
    elif kind == "blob":
        response = blob_error(
            request, status, code or BLOB_CODES.get(status, "InternalError"), message
        )
    elif kind == "partner-center":
        response = partner_center_error(request, status, message)
    else:
        response = graph_error(request, status, message, code)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="billport"'
    return response


def _retry_after(request: Request) -> int:
    runtime = getattr(request.app.state, "runtime", None)
    # An outage is worth at least a second's wait, whatever operations are told.
    return max(runtime.settings.retry_after, 1) if runtime is not None else 5


def status_for(exc: BillportError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BillportError)
    async def _domain(request: Request, exc: BillportError) -> Response:
        status = status_for(exc)
        if status >= 500:  # the driver's or SDK's error is the cause: keep it for the log
            log.error("%s %s: %s", request.method, request.url.path, exc.message, exc_info=exc)
        code = exc.code if surface(request.url.path) == "graph" else None
        response = error_response(request, status, exc.message, code)
        if isinstance(exc, ServiceUnavailable):
            response.headers["Retry-After"] = str(_retry_after(request))
        return response

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


class OAuthErrorBody(BaseModel):
    """Entra ID's OAuth2 error body (RFC 6749 §5.2 plus its tracing fields)."""

    error: str
    error_description: str
    error_codes: list[int]
    timestamp: str
    trace_id: str
    correlation_id: str


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth2_error(
    request: Request,
    status: int,
    error: str,
    description: str,
    *,
    code: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An OAuth2 error as Entra ID answers it (``error``, ``error_description``, codes)."""
    trace = new_request_id()
    stamp = f"{now(request):%Y-%m-%d %H:%M:%SZ}"
    body = OAuthErrorBody(
        error=error,
        error_description=f"{description} Trace ID: {trace} Timestamp: {stamp}",
        error_codes=[code] if code else [],
        timestamp=stamp,
        trace_id=trace,
        correlation_id=new_request_id(),
    )
    return JSONResponse(
        body.model_dump(), status_code=status, headers={**NO_STORE, **(headers or {})}
    )
