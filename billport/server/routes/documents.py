"""Invoice documents: ``GET /v1/invoices/{id}/documents/statement`` and the tax receipt PDF.

The PDFs are rendered on request from the stored invoice (billport.usecases.documents), so
every ``pdfDownloadLink`` and ``taxReceiptPdfDownloadLink`` an invoice shows resolves.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from billport.runtime import Runtime
from billport.server.auth import PartnerCenterPrincipal
from billport.server.deps import get_runtime
from billport.server.routes.invoices import ERRORS
from billport.usecases import documents
from billport.usecases.documents import Document

router = APIRouter(tags=["partner-center"])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The statement as a PDF (Content-Disposition: attachment)",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    **ERRORS,
}


def pdf_response(document: Document) -> Response:
    """The PDF as Partner Center sends it: ``application/pdf``, offered as a download."""
    return Response(
        document.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={document.filename}"},
    )


@router.get(
    "/v1/invoices/{invoiceId}/documents/statement",
    summary="The invoice statement PDF (bare or Recurring-/OneTime- prefixed id)",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def get_invoice_statement(
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    invoice_id: Annotated[str, Path(alias="invoiceId")],
) -> Response:
    document = documents.invoice_statement(
        runtime.db, principal.tenant_id, invoice_id, runtime.clock()
    )
    return pdf_response(document)


@router.get(
    "/v1/invoices/{invoiceId}/receipts/{receiptId}/documents/statement",
    summary="A tax receipt PDF: one of the receipts the invoice lists in taxReceipts",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def get_receipt_statement(
    principal: PartnerCenterPrincipal,
    runtime: RuntimeDep,
    invoice_id: Annotated[str, Path(alias="invoiceId")],
    receipt_id: Annotated[str, Path(alias="receiptId")],
) -> Response:
    document = documents.receipt_statement(
        runtime.db, principal.tenant_id, invoice_id, receipt_id, runtime.clock()
    )
    return pdf_response(document)
