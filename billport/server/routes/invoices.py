"""Partner Center invoices: ``GET /v1/invoices`` and ``GET /v1/invoices/{invoiceId}``.

Bodies are rendered with orjson and amounts are emitted as ``orjson.Fragment`` of the
stored decimal text, so ``24606.35`` stays exactly that (never through ``float``). The
pydantic models below only describe the responses in the OpenAPI schema.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, BeforeValidator, Field
from starlette.responses import JSONResponse, Response

from billport.billing.invoices import MAX_OFFSET, MAX_PAGE_SIZE, Invoice, InvoiceDetail
from billport.runtime import Runtime
from billport.server.auth import PartnerCenterPrincipal
from billport.server.deps import get_runtime
from billport.usecases import invoices as service
from billport.usecases.invoices import InvoicePage

# --- wire shaping ------------------------------------------------------------------------


class PartnerCenterJSONResponse(JSONResponse):
    """JSON with the exact ``Content-Type`` Partner Center sends.

    A ``JSONResponse`` subclass so FastAPI documents bodies as JSON in the OpenAPI schema.
    """

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_number(value: Decimal) -> orjson.Fragment:
    """The stored decimal text as a JSON number."""
    if not value.is_finite():
        raise ValueError(f"amount {value} has no JSON form")
    return orjson.Fragment(str(value).encode())


def json_instant(value: datetime) -> str:
    """``2018-02-08T01:22:47.603895Z`` (fraction only when there is one)."""
    naive = value.replace(tzinfo=None)  # stored values are UTC already
    return naive.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def link(uri: str) -> dict[str, Any]:
    return {"uri": uri, "method": "GET", "headers": []}


def detail_json(invoice: Invoice, detail: InvoiceDetail, *, with_links: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "invoiceLineItemType": detail.line_item_type,
        "billingProvider": detail.billing_provider,
    }
    if with_links:
        uri = (
            f"/invoices/{invoice.typed_id}/lineitems/"
            f"{detail.path_provider}/{detail.path_line_item_type}"
        )
        body["links"] = {"self": link(uri)}
    body["attributes"] = {"objectType": "InvoiceDetail"}
    return body


def tax_receipt_json(invoice_id: str, receipt_id: str) -> dict[str, str]:
    pdf = f"/invoices/{invoice_id}/receipts/{receipt_id}/documents/statement"
    return {"id": receipt_id, "taxReceiptPdfDownloadLink": pdf}


def amendment_json(invoice: Invoice) -> dict[str, Any]:
    """An amendment nested in its parent: no links, no PDF, details without links."""
    return {
        "id": invoice.invoice_id,
        "invoiceDate": json_instant(invoice.invoice_date),
        "totalCharges": json_number(invoice.total_charges),
        "paidAmount": json_number(invoice.paid_amount),
        "currencyCode": invoice.currency_code,
        "currencySymbol": invoice.currency_symbol,
        "invoiceDetails": [detail_json(invoice, d, with_links=False) for d in invoice.details],
        "documentType": invoice.document_type,
        "amendsOf": invoice.amends_of,
        "invoiceType": invoice.invoice_type,
        "attributes": {"objectType": "Invoice"},
    }


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    """An invoice as listed or fetched by id (spec §3.1/§3.4, seed sample)."""
    iid = invoice.invoice_id
    body: dict[str, Any] = {
        "id": iid,
        "invoiceDate": json_instant(invoice.invoice_date),
        "billingPeriodStartDate": json_instant(invoice.billing_period_start),
        "billingPeriodEndDate": json_instant(invoice.billing_period_end),
        "totalCharges": json_number(invoice.total_charges),
        "paidAmount": json_number(invoice.paid_amount),
        "currencyCode": invoice.currency_code,
        "currencySymbol": invoice.currency_symbol,
        "pdfDownloadLink": f"/invoices/{iid}/documents/statement",
        "taxReceipts": [tax_receipt_json(iid, receipt) for receipt in invoice.tax_receipts],
        "invoiceDetails": [detail_json(invoice, d, with_links=True) for d in invoice.details],
    }
    if invoice.amendments:
        body["amendments"] = [amendment_json(a) for a in invoice.amendments]
    body["documentType"] = invoice.document_type
    if invoice.amends_of:
        body["amendsOf"] = invoice.amends_of
    body["invoiceType"] = invoice.invoice_type
    body["links"] = {"self": link(f"/invoices/{invoice.typed_id}")}
    body["attributes"] = {"objectType": "Invoice"}
    return body


def page_uri(
    size: int, offset: int, filter_text: str | None, invoice_type: str | None = None
) -> str:
    """``/invoices?size=2&offset=2[&filter=...][&invoiceType=...]``: relative, without
    ``/v1``, as the service."""
    uri = f"/invoices?size={size}&offset={offset}"
    uri = f"{uri}&filter={quote(filter_text, safe='')}" if filter_text else uri
    return f"{uri}&invoiceType={invoice_type}" if invoice_type else uri


def collection_json(page: InvoicePage) -> dict[str, Any]:
    kind = page.invoice_type
    links = {"self": link(page_uri(page.page.size, page.page.offset, page.filter_text, kind))}
    if (following := page.next_page) is not None:
        links["next"] = link(page_uri(following.size, following.offset, page.filter_text, kind))
    return {
        "totalCount": len(page.items),
        "items": [invoice_json(invoice) for invoice in page.items],
        "links": links,
        "attributes": {"objectType": "Collection"},
    }


# --- query parameters --------------------------------------------------------------------

# What .NET's int parsing (NumberStyles.Integer) accepts: ASCII digits, an optional sign,
# surrounding whitespace. Pydantic alone would also take ``1.0`` and ``1_0``.
_INTEGER_TEXT = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+[ \t\n\v\f\r]*")


def integer_text(value: object) -> object:
    """Refuse query text that is not an integer (``1.0``, ``1e2``); the range checks follow."""
    if isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value):
        raise ValueError("Input should be a valid integer")
    return value


StrictInt = Annotated[int, BeforeValidator(integer_text)]


# --- OpenAPI description of the bodies ---------------------------------------------------


class LinkModel(BaseModel):
    uri: str
    method: str = "GET"
    headers: list[dict[str, str]] = []


class SelfLinks(BaseModel):
    self: LinkModel


class CollectionLinks(BaseModel):
    self: LinkModel
    next: LinkModel | None = None


class Attributes(BaseModel):
    objectType: str


class TaxReceiptModel(BaseModel):
    id: str
    taxReceiptPdfDownloadLink: str


class InvoiceDetailModel(BaseModel):
    invoiceLineItemType: str
    billingProvider: str
    links: SelfLinks | None = None  # absent on amendments
    attributes: Attributes


class InvoiceModel(BaseModel):
    id: str
    invoiceDate: datetime
    billingPeriodStartDate: datetime | None = None  # absent on amendments
    billingPeriodEndDate: datetime | None = None
    totalCharges: float = Field(description="Exact decimal, e.g. 24606.35")
    paidAmount: float
    currencyCode: str
    currencySymbol: str
    pdfDownloadLink: str | None = None
    taxReceipts: list[TaxReceiptModel] | None = None
    invoiceDetails: list[InvoiceDetailModel]
    amendments: list[InvoiceModel] | None = None
    documentType: str
    amendsOf: str | None = None
    invoiceType: str
    links: SelfLinks | None = None
    attributes: Attributes


class InvoiceCollectionModel(BaseModel):
    totalCount: int
    items: list[InvoiceModel]
    links: CollectionLinks
    attributes: Attributes


class ApiFault(BaseModel):
    code: int
    description: str
    data: list[Any] = []
    source: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiFault, "description": "Malformed size, offset, filter or invoiceType"},
    401: {"model": ApiFault, "description": "Missing or invalid bearer token"},
    403: {"model": ApiFault, "description": "Token not allowed to read invoices"},
    404: {"model": ApiFault, "description": "Unknown invoice (or another tenant's)"},
}

# --- routes ------------------------------------------------------------------------------

router = APIRouter(tags=["partner-center"], default_response_class=PartnerCenterJSONResponse)
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.get(
    "/v1/invoices",
    summary="List invoices (size/offset page legacy invoices; modern ones are always all returned)",
    response_model=None,
    responses={200: {"model": InvoiceCollectionModel}, **ERRORS},
)
def list_invoices(
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    size: Annotated[StrictInt | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
    offset: Annotated[StrictInt | None, Query(ge=0, le=MAX_OFFSET)] = None,
    filter: Annotated[str | None, Query(description="URL-encoded JSON filter")] = None,
    invoice_type: Annotated[
        str | None,
        Query(
            alias="invoiceType",
            description="Only invoices of this type: Recurring or OneTime (any case; "
            "one_time too); anything else is a 400",
        ),
    ] = None,
) -> Response:
    page = service.list_invoices(
        runtime.db,
        principal.tenant_id,
        size=size,
        offset=offset,
        filter_text=filter,
        invoice_type=invoice_type,
    )
    return PartnerCenterJSONResponse(collection_json(page))


@router.get(
    "/v1/invoices/{invoiceId}",
    summary="One invoice by id (bare or Recurring-/OneTime- prefixed), with its amendments",
    response_model=None,
    responses={200: {"model": InvoiceModel}, **ERRORS},
)
def get_invoice(
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    invoice_id: Annotated[str, Path(alias="invoiceId")],
) -> Response:
    invoice = service.get_invoice(runtime.db, principal.tenant_id, invoice_id)
    return PartnerCenterJSONResponse(invoice_json(invoice))
