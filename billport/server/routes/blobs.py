"""Signed blob downloads and listings, shaped like Azure Blob Storage so its SDKs can read them."""

from __future__ import annotations

import re
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from billport.billing.ids import InvalidBlobName, check_blob_name
from billport.blobs import sas
from billport.blobs.base import BlobInfo
from billport.runtime import Runtime
from billport.server import blob_listing
from billport.server.deps import get_runtime
from billport.server.errors import blob_error
from billport.server.urls import base_url

router = APIRouter(tags=["blobs"])
STORAGE_VERSION = "2021-08-06"
# ASCII digits only (``\d`` takes any Unicode digit), at most 18: every offset fits in an
# int64, as in Azure's own parser, and Python never converts a 4,300-digit number.
_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")


def _range(request: Request, size: int) -> tuple[int, int] | None | str:
    """``(start, end)`` inclusive from ``x-ms-range`` (preferred) or ``Range``; ``"bad"`` if
    unsatisfiable; ``None`` for the whole blob."""
    header = request.headers.get("x-ms-range") or request.headers.get("range")
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # Azure ignores a malformed (or absurd) range: the whole blob
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return "bad"
    return start, end


def _headers(info: BlobInfo) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": format_datetime(info.last_modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "x-ms-blob-type": "BlockBlob",
        "x-ms-version": STORAGE_VERSION,
        "x-ms-creation-time": format_datetime(info.last_modified, usegmt=True),
        "x-ms-lease-status": "unlocked",
        "x-ms-lease-state": "available",
        "x-ms-server-encrypted": "true",
        "Content-Type": "application/octet-stream",
    }


def _listing_query(container: str, request: Request) -> blob_listing.ListingQuery | None:
    """The List Blobs parameters, or None if ``maxresults`` is not a positive integer."""
    params = request.query_params
    wanted = params.get("maxresults") or str(blob_listing.MAX_RESULTS)
    # ASCII digits of an int32, as Azure parses it ("²".isdigit() is true, int() refuses it).
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 10):
        return None
    if not 1 <= int(wanted) <= 2**31 - 1:
        return None
    return blob_listing.ListingQuery(
        container=container,
        prefix=params.get("prefix", ""),
        delimiter=params.get("delimiter", ""),
        marker=params.get("marker", ""),
        max_results=min(int(wanted), blob_listing.MAX_RESULTS),
    )


def _refuse_name(request: Request, name: str) -> Response | None:
    """A 400 for a name Azure could never hold, checked before the signature as it does."""
    try:
        check_blob_name(name)
    except InvalidBlobName as bad:
        return blob_error(request, 400, bad.code, bad.message)
    return None


def list_container(container: str, request: Request, runtime: Runtime) -> Response:
    """List Blobs under the SAS's directory only; the prefix must lie inside it."""
    query = _listing_query(container, request)
    if "/" in container or query is None:
        return blob_error(
            request,
            400,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid.",
        )
    for name in (query.prefix, query.marker, query.delimiter):  # all echoed in the XML
        if (refused := _refuse_name(request, f"{container}/{name}")) is not None:
            return refused
    try:
        directory = sas.verify_listing(
            runtime.keys.sas_key, container, query.prefix, request.query_params, now=runtime.clock()
        )
    except sas.SasDenied as denied:
        return blob_error(request, 403, denied.code, denied.message)
    inside = f"{directory}/"  # a prefix equal to the directory must not reach its siblings
    blobs = runtime.blobs.list_blobs(f"{container}/{query.prefix}")
    result = blob_listing.page(query, (b for b in blobs if b.path.startswith(inside)))
    endpoint = f"{base_url(request, runtime.settings)}/blobs/"
    return Response(
        blob_listing.listing_xml(query, result, service_endpoint=endpoint),
        media_type="application/xml",
        headers={"x-ms-version": STORAGE_VERSION},
    )


def download(
    path: str, request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Response:
    params = request.query_params
    if (refused := _refuse_name(request, path)) is not None:
        return refused
    if params.get("restype") == "container" and params.get("comp") == "list":
        return list_container(path.strip("/"), request, runtime)
    try:
        sas.verify(runtime.keys.sas_key, path, request.query_params, now=runtime.clock())
    except sas.SasDenied as denied:
        return blob_error(request, 403, denied.code, denied.message)
    info = runtime.blobs.info(path)
    if info is None:
        return blob_error(request, 404, "BlobNotFound", "The specified blob does not exist.")
    headers = _headers(info)
    wanted = _range(request, info.size)
    if wanted == "bad":
        headers["Content-Range"] = f"bytes */{info.size}"
        return blob_error(
            request,
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        )
    start, end = wanted if isinstance(wanted, tuple) else (0, info.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    status = 200
    if isinstance(wanted, tuple):
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(
        runtime.blobs.read(path, start, end), status_code=status, headers=headers
    )


_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The blob; with ``restype=container&comp=list`` on a container, "
        "Azure's List Blobs XML of the SAS's directory",
        "content": {"application/octet-stream": {}, "application/xml": {}},
    },
    206: {"description": "A byte range of the blob"},
    400: {
        "description": "A name Azure could not hold (control characters, over 1,024 "
        "characters or 254 segments), or a listing's ``maxresults`` is not a positive integer"
    },
    403: {"description": "Missing, expired or tampered SAS, or one that does not grant this"},
    404: {"description": "No such blob"},
    416: {"description": "Range not satisfiable"},
}
for _method in ("GET", "HEAD"):
    router.add_api_route(
        "/blobs/{path:path}",
        download,
        methods=[_method],
        responses=_RESPONSES,
        summary=f"{_method} an exported blob with its SAS token",
        operation_id=f"{_method.lower()}_blob",
        response_class=Response,
    )
