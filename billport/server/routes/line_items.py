"""Partner Center v1 invoice line items: the path form and the query form (spec §4).

- ``GET /v1/invoices/{id}/lineitems/{provider}/{type}?size&offset``: what every invoice's
  ``invoiceDetails[].links.self`` points at; pages by ``offset`` (``links.next``), and with
  ``seekOperation=Next`` plus the ``MS-ContinuationToken`` header by token.
- ``GET /v1/invoices/{id}/lineitems?provider=onetime&invoicelineitemtype=...&currencycode
  &period&size[&seekOperation=Next]``: seek paging only; ``{id}`` may be ``unbilled``.

Query keys and values are case-insensitive (the SDK sends ``invoiceLineItemType``, the docs
``invoicelineitemtype``), so they are read from the raw query string, not FastAPI ``Query``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from billport.billing.invoices import MAX_OFFSET
from billport.billing.line_items import MAX_LINE_ITEMS_PAGE, parse_kind, parse_provider
from billport.errors import InvalidRequest
from billport.runtime import Runtime
from billport.server.auth import PartnerCenterPrincipal
from billport.server.deps import get_runtime
from billport.server.routes.invoices import (
    ERRORS,
    PartnerCenterJSONResponse,
    integer_text,
    link,
)
from billport.usecases import line_items as service
from billport.usecases.line_items import LineItemPage, LineItemRequest

TOKEN_HEADER = "MS-ContinuationToken"


class LineItemsResponse(PartnerCenterJSONResponse):
    """Decimals as their exact text (the rows' amounts never pass through ``float``)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_exact)


def _exact(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _query(request: Request) -> dict[str, str]:
    """Query parameters with lower-cased keys (the last one wins, as ASP.NET binds)."""
    return {key.lower(): value for key, value in request.query_params.multi_items()}


def _integer(params: dict[str, str], key: str, low: int, high: int) -> int | None:
    text = params.get(key)
    if text is None:
        return None
    try:
        integer_text(text)
        value = int(text)
    except ValueError:
        raise InvalidRequest(f"{key} must be an integer.") from None
    if value < low or value > high:
        raise InvalidRequest(f"{key} must be an integer between {low} and {high}.")
    return value


def _paging(request: Request, params: dict[str, str]) -> tuple[int, str | None]:
    """``(size, token)``: size defaults to and is capped at 2000 (spec §4.1)."""
    size = _integer(params, "size", 1, 2**31 - 1)
    seek = params.get("seekoperation")
    token = request.headers.get(TOKEN_HEADER)
    if seek is not None and seek.strip().lower() != "next":
        raise InvalidRequest("seekOperation: only Next is supported.")
    if seek is not None and not (token or "").strip():
        raise InvalidRequest(f"seekOperation=Next needs the {TOKEN_HEADER} request header.")
    return min(size or MAX_LINE_ITEMS_PAGE, MAX_LINE_ITEMS_PAGE), token or None


def _refuse_unserved(params: dict[str, str]) -> None:
    """Query-form parameters billport cannot honour are refused, never silently ignored."""
    if _integer(params, "offset", 0, MAX_OFFSET):  # 0 (or absent) is the first page anyway
        raise InvalidRequest(
            "offset is not supported by the query form: follow links.next "
            f"(seekOperation=Next with the {TOKEN_HEADER} header)."
        )
    credit = params.get("haspartnerearnedcredit")
    if credit is not None and credit.strip().lower() != "false":
        raise InvalidRequest(
            "hasPartnerEarnedCredit=true is not supported by billport: list all line items "
            "and select those with rateOfPartnerEarnedCredit > 0."
        )


def _body(page: LineItemPage, self_uri: str, next_uri: str | None) -> dict[str, Any]:
    links = {"self": link(self_uri)}
    if next_uri is not None:
        links["next"] = link(next_uri)
        if page.next_offset is None and page.token is not None:
            links["next"]["headers"] = [{"key": TOKEN_HEADER, "value": page.token}]
    body: dict[str, Any] = {"continuationToken": page.token} if page.token else {}
    body.update(
        totalCount=len(page.items),
        items=page.items,
        links=links,
        attributes={"objectType": "Collection"},
    )
    return body


router = APIRouter(tags=["partner-center"], default_response_class=LineItemsResponse)
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
InvoiceId = Annotated[str, Path(alias="invoiceId")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {**ERRORS[400], "description": "Bad provider, type, size or token; retired query"},
}


def _param(name: str, where: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": where, "required": False, "description": description,
            "schema": {"type": kind}}  # fmt: skip


# The parameters are read from the raw query (case-insensitive keys), so FastAPI cannot
# describe them itself; this documents them for the schema and its fuzz test.
PAGING = [
    _param("size", "query", "Page size; default and maximum 2000", "integer"),
    _param("seekOperation", "query", "Next (with the MS-ContinuationToken header)"),
    _param(TOKEN_HEADER, "header", "The continuationToken of the previous page"),
]
PATH_PARAMETERS = [*PAGING, _param("offset", "query", "Zero-based row offset", "integer")]
QUERY_PARAMETERS = [
    _param("provider", "query", "onetime (marketplace for usage); required"),
    _param("invoicelineitemtype", "query", "billinglineitems | usagelineitems; required"),
    _param("currencycode", "query", "ISO currency; required for 'unbilled'"),
    _param("period", "query", "current | previous; required for 'unbilled'"),
    _param("hasPartnerEarnedCredit", "query", "false only (true is refused)"),
    *PAGING,
]


def _run(runtime: Runtime, tenant_id: str, call: LineItemRequest) -> LineItemPage:
    now = runtime.clock()
    return service.list_line_items(runtime.db, runtime.keys.sas_key, now, tenant_id, call)


@router.get(
    "/v1/invoices/{invoiceId}/lineitems/{provider}/{lineItemType}",
    summary="Line items of an invoice (path form: size/offset, or seekOperation=Next)",
    response_model=None,
    responses=RESPONSES,
    openapi_extra={"parameters": PATH_PARAMETERS},
)
def path_form(
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    request: Request,
    invoice_id: InvoiceId,
    provider: str,
    line_item_type: Annotated[str, Path(alias="lineItemType")],
) -> Response:
    params = _query(request)
    size, token = _paging(request, params)
    kind, chosen = parse_kind(line_item_type), parse_provider(provider)
    offset = _integer(params, "offset", 0, MAX_OFFSET) if token is None else None
    call = LineItemRequest(invoice_id, chosen, kind, False, size, offset=offset, token=token)
    page = _run(runtime, principal.tenant_id, call)
    base = f"/invoices/{quote(invoice_id, safe='')}/lineitems/{chosen.value}/{kind.value}"
    if token is not None:
        self_uri = f"{base}?size={size}&seekOperation=Next"
        next_uri = self_uri if page.token else None
    else:
        self_uri = f"{base}?size={size}&offset={offset or 0}"
        has_next = page.next_offset is not None
        next_uri = f"{base}?size={size}&offset={page.next_offset}" if has_next else None
    return LineItemsResponse(_body(page, self_uri, next_uri))


@router.get(
    "/v1/invoices/{invoiceId}/lineitems",
    summary="Line items (query form: provider, invoicelineitemtype, currencycode, period, "
    "size; seekOperation=Next with MS-ContinuationToken). invoiceId may be 'unbilled'",
    response_model=None,
    responses=RESPONSES,
    openapi_extra={"parameters": QUERY_PARAMETERS},
)
def query_form(
    principal: PartnerCenterPrincipal, runtime: RuntimeDep, request: Request, invoice_id: InvoiceId
) -> Response:
    params = _query(request)
    size, token = _paging(request, params)
    _refuse_unserved(params)
    chosen = parse_provider(params.get("provider"))
    kind = parse_kind(params.get("invoicelineitemtype"))
    currency, period = params.get("currencycode"), params.get("period")
    call = LineItemRequest(
        invoice_id, chosen, kind, True, size, token=token, currency=currency, period=period
    )
    page = _run(runtime, principal.tenant_id, call)
    query = f"provider={chosen.value.lower()}&invoicelineitemtype={kind.value.lower()}"
    for key, value in (("currencycode", currency), ("period", period)):
        if value is not None:
            query += f"&{key}={quote(value.strip().lower(), safe='')}"
    self_uri = f"/invoices/{quote(invoice_id, safe='')}/lineitems?{query}&size={size}"
    next_uri = f"{self_uri}&seekOperation=Next" if page.token else None
    return LineItemsResponse(_body(page, self_uri, next_uri))
