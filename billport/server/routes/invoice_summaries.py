"""``GET /v1/invoices/summaries``, ``/v1/invoices/summary`` and ``/v1/invoices/estimates/links``.

Registered before the invoices router: ``/v1/invoices/summary`` would otherwise be read as
the invoice id ``summary``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from billport.billing.estimates import EstimateLink
from billport.billing.statements import Summary
from billport.runtime import Runtime
from billport.server.auth import PartnerCenterPrincipal
from billport.server.deps import get_runtime
from billport.server.routes.invoices import (
    ERRORS,
    Attributes,
    LinkModel,
    PartnerCenterJSONResponse,
    SelfLinks,
    json_instant,
    json_number,
    link,
)
from billport.usecases import invoice_summaries as service

# .NET's DateTime.MinValue, which the service shows for a date it does not have.
UNSET_DATE = "0001-01-01T00:00:00"


def summary_json(summary: Summary, *, nested: bool = False) -> dict[str, Any]:
    """An ``InvoiceSummary``; a nested one (in ``details``) has no details or links."""
    body: dict[str, Any] = {
        "balanceAmount": json_number(summary.balance),
        "currencyCode": summary.currency_code,
        "currencySymbol": summary.currency_symbol,
        "accountingDate": json_instant(summary.latest_invoice_date),
        "firstInvoiceCreationDate": json_instant(summary.first_invoice_date),
        "lastPaymentDate": UNSET_DATE,  # billport keeps no payment dates
        "lastPaymentAmount": json_number(summary.last_payment_amount),
        "latestInvoiceDate": json_instant(summary.latest_invoice_date),
    }
    if not nested:
        body["details"] = [
            {"invoiceType": kind, "summary": summary_json(part, nested=True)}
            for kind, part in summary.details
        ]
        body["links"] = {"self": link("/invoices/summary")}
    body["attributes"] = {"objectType": "InvoiceSummary"}
    return body


def estimate_json(estimate: EstimateLink) -> dict[str, Any]:
    return {
        "type": estimate.kind.type,
        "title": estimate.kind.title,
        "description": estimate.kind.description,
        "period": estimate.period,
        "link": link(estimate.uri),
    }


def collection(items: list[dict[str, Any]], self_uri: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalCount": len(items), "items": items}
    if self_uri is not None:
        body["links"] = {"self": link(self_uri)}
    body["attributes"] = {"objectType": "Collection"}
    return body


def query_value(request: Request, name: str) -> str | None:
    """A query parameter whatever its case (``currencyCode``, ``currencycode``)."""
    for key, value in request.query_params.multi_items():
        if key.lower() == name:
            return value
    return None


# --- OpenAPI description of the bodies ---------------------------------------------------


class SummaryModel(BaseModel):
    balanceAmount: float
    currencyCode: str
    currencySymbol: str
    accountingDate: datetime
    firstInvoiceCreationDate: datetime
    lastPaymentDate: str
    lastPaymentAmount: float
    latestInvoiceDate: datetime
    details: list[dict[str, Any]] | None = None
    links: SelfLinks | None = None
    attributes: Attributes


class SummaryCollectionModel(BaseModel):
    totalCount: int
    items: list[SummaryModel]
    links: SelfLinks
    attributes: Attributes


class EstimateLinkModel(BaseModel):
    type: str
    title: str
    description: str
    period: str
    link: LinkModel


class EstimateCollectionModel(BaseModel):
    totalCount: int
    items: list[EstimateLinkModel]
    attributes: Attributes


# --- routes ------------------------------------------------------------------------------

router = APIRouter(tags=["partner-center"], default_response_class=PartnerCenterJSONResponse)
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.get(
    "/v1/invoices/summaries",
    summary="The balance per currency (invoice summaries)",
    response_model=None,
    responses={200: {"model": SummaryCollectionModel}, **ERRORS},
)
def list_summaries(principal: PartnerCenterPrincipal, runtime: RuntimeDep) -> Response:
    found = service.summaries(runtime.db, principal.tenant_id)
    return PartnerCenterJSONResponse(
        collection([summary_json(s) for s in found], "/invoices/summaries")
    )


@router.get(
    "/v1/invoices/summary",
    summary="The balance in the account's original currency (the older single summary)",
    response_model=None,
    responses={200: {"model": SummaryModel}, **ERRORS},
)
def get_summary(principal: PartnerCenterPrincipal, runtime: RuntimeDep) -> Response:
    return PartnerCenterJSONResponse(summary_json(service.summary(runtime.db, principal.tenant_id)))


@router.get(
    "/v1/invoices/estimates/links",
    summary="Links to the unbilled (estimated) line items of one currency",
    response_model=None,
    responses={200: {"model": EstimateCollectionModel}, **ERRORS},
)
def get_estimate_links(
    request: Request,
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    currencycode: Annotated[
        str | None, Query(description="Required, e.g. usd (the name is case-insensitive)")
    ] = None,
) -> Response:
    currency = currencycode or query_value(request, "currencycode")
    links = service.estimate_links(currency, runtime.clock())
    return PartnerCenterJSONResponse(collection([estimate_json(e) for e in links]))
