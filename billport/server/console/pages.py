"""The console's read pages: overview, exports, requests and compliance, invoices.

Handlers parse the query, call use cases (``usecases/browse.py`` for paged listings, the
admin API's own for the rest) and render a template. Lists are paged in SQL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from billport import __version__
from billport.billing.datasets import Dataset
from billport.billing.operations import Status
from billport.errors import BillportError, NotFound
from billport.reconcile.check import reconcile
from billport.reconcile.model import Reconciliation
from billport.runtime import Runtime
from billport.server.console.auth import FragmentSession, PageSession
from billport.server.console.charts import bar_chart, timeline
from billport.server.console.render import PREFIX, render
from billport.server.deps import recorder_of
from billport.server.urls import base_url
from billport.store.listings import OperationRow
from billport.usecases import browse, invoices, request_log, scenarios

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
COMPLIANCE_CALLS = 2_000  # newest calls the Requests page checks and draws
TIMELINE_CALLS = 400
ACTIVE = (Status.NOT_STARTED, Status.RUNNING)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _int(raw: str | None, default: int, low: int = 0, high: int = 10**9) -> int:
    """A lenient query integer: a bad or out-of-range value falls back to the default."""
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    return value if low <= value <= high else default


def _text(request: Request, name: str, max_length: int = 200) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    return value[:max_length] or None


def _query(filters: dict[str, Any], **changes: Any) -> str:
    values = {k: v for k, v in {**filters, **changes}.items() if v not in (None, "", 0)}
    return "?" + urlencode(values) if values else ""


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: PageSession) -> HTMLResponse:
    runtime = _runtime(request)
    counts = browse.store_counts(runtime.db)
    datasets = [(d, counts.line_items.get(d, 0)) for d in Dataset]
    statuses = [(s.value, counts.operations.get(s.value, 0)) for s in Status]
    backend = type(runtime.blobs).__name__
    return render(
        request,
        "overview.html",
        session=session,
        page="overview",
        counts=counts,
        datasets=datasets,
        statuses=statuses,
        database=runtime.db.dialect,
        blob_backend=backend,
        version=__version__,
    )


def _seconds(row: OperationRow, now: datetime) -> float:
    op = row.operation
    end = op.last_action_at if op.status.terminal else now
    return max((end - op.created_at).total_seconds(), 0.0)


def _exports_context(request: Request) -> dict[str, Any]:
    runtime = _runtime(request)
    filters = {"tenant": _text(request, "tenant", 36), "status": _text(request, "status", 16)}
    offset = _int(request.query_params.get("offset"), 0)
    page = browse.list_operations(
        runtime.db,
        tenant_id=filters["tenant"],
        status=filters["status"] if filters["status"] in browse.STATUSES else None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    now = runtime.clock()
    rows = [(row, _seconds(row, now)) for row in page.items]
    live = any(row.operation.status in ACTIVE for row in page.items) or offset == 0
    return {
        "result": page,
        "rows": rows,
        "filters": filters,
        "statuses": browse.STATUSES,
        "live": live,
        "query": lambda **changes: _query(filters, **changes),
        "fragment_query": _query(filters, offset=offset),
    }


@router.get("/exports", response_class=HTMLResponse)
def exports(request: Request, session: PageSession) -> HTMLResponse:
    context = _exports_context(request)
    return render(request, "exports.html", session=session, page="exports", **context)


@router.get("/exports/rows", response_class=HTMLResponse)
def exports_rows(request: Request, session: FragmentSession) -> HTMLResponse:
    """The rows of the Exports table alone: the page fetches this every few seconds."""
    context = _exports_context(request)
    return render(request, "_export_rows.html", session=session, **context)


def _download_links(request: Request, runtime: Runtime, detail: browse.OperationDetail) -> Any:
    manifest = detail.manifest
    if manifest is None:
        return None
    applied = scenarios.applied_scenario(runtime.db, runtime.settings, manifest.tenant_id)
    lifetime = applied.scenario.sas_lifetime
    location = runtime.blobs.download_location(
        manifest.root_path,
        base_url=base_url(request, runtime.settings),
        now=runtime.clock(),
        lifetime=runtime.settings.sas_lifetime if lifetime is None else lifetime,
    )
    sas = location.sas_token.lstrip("?")
    root = location.root_directory.rstrip("/")
    return [
        (blob, f"{root}/{quote(blob.name.lstrip('/'), safe='/')}" + (f"?{sas}" if sas else ""))
        for blob in manifest.blobs
    ]


@router.get("/exports/{operation_id}", response_class=HTMLResponse)
def export_detail(request: Request, session: PageSession, operation_id: str) -> HTMLResponse:
    runtime = _runtime(request)
    try:
        detail = browse.operation_detail(runtime.db, operation_id[:36])
    except NotFound as exc:
        return _not_found(request, session, "exports", exc)
    op = detail.operation
    now = runtime.clock()
    end = op.last_action_at if op.status.terminal else now
    return render(
        request,
        "export.html",
        session=session,
        page="exports",
        op=op,
        manifest=detail.manifest,
        links=_download_links(request, runtime, detail),
        seconds=max((end - op.created_at).total_seconds(), 0.0),
        live=op.status in ACTIVE,
    )


def _not_found(request: Request, session: Any, page: str, exc: BillportError) -> HTMLResponse:
    return render(
        request, "not_found.html", session=session, page=page, message=exc.message, status=404
    )


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, session: PageSession) -> HTMLResponse:
    runtime = _runtime(request)
    recorder_of(request.app).flush()  # this process's calls up to now, as the admin API does
    status_text = _text(request, "status", 3)
    filters: dict[str, Any] = {
        "tenant": _text(request, "tenant", 36),
        "route": _text(request, "route", 200),
        "status": status_text if status_text and status_text.isdigit() else None,
    }
    offset = _int(request.query_params.get("offset"), 0)
    page = browse.list_requests(
        runtime.db,
        tenant_id=filters["tenant"],
        route=filters["route"],
        status=int(filters["status"]) if filters["status"] else None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    reports = request_log.compliance_report(runtime.db, limit=COMPLIANCE_CALLS)
    recent = [
        r for r in request_log.recent_requests(runtime.db, limit=TIMELINE_CALLS) if r.verified
    ]
    early = {v.request_id for report in reports for v in report.violations}
    chart = timeline(recent, {r.client: r.compliant for r in reports}, early)
    return render(
        request,
        "requests.html",
        session=session,
        page="requests",
        result=page,
        filters=filters,
        query=lambda **changes: _query(filters, **changes),
        reports=reports,
        chart=chart,
        compliance_calls=COMPLIANCE_CALLS,
    )


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(request: Request, session: PageSession) -> HTMLResponse:
    runtime = _runtime(request)
    filters = {
        "tenant": _text(request, "tenant", 36),
        "currency": _text(request, "currency", 3),
        "q": _text(request, "q", 20),
    }
    offset = _int(request.query_params.get("offset"), 0)
    page = browse.list_invoices(
        runtime.db,
        tenant_id=filters["tenant"],
        currency=filters["currency"],
        search=filters["q"],
        limit=PAGE_SIZE,
        offset=offset,
    )
    return render(
        request,
        "invoices.html",
        session=session,
        page="invoices",
        result=page,
        filters=filters,
        tenants=browse.tenant_ids(runtime.db),
        query=lambda **changes: _query(filters, **changes),
    )


_VERDICTS: OrderedDict[tuple[Any, ...], Reconciliation] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()
MAX_VERDICTS = 64


def _verdict(
    runtime: Runtime, tenant_id: str, invoice_id: str, document: dict[str, str]
) -> Reconciliation:
    """The check of `billport reconcile`, over the rows an export of the invoice writes;
    kept while the invoice and its lines stay the same (a 100k-line invoice takes ~1.5 s)."""
    version = browse.invoice_lines_version(runtime.db, tenant_id, invoice_id)
    key = (id(runtime.db), tenant_id, invoice_id, tuple(document.items()), version)
    with _VERDICTS_LOCK:
        if key in _VERDICTS:
            _VERDICTS.move_to_end(key)
            return _VERDICTS[key]
    result = reconcile(document, browse.invoice_lines(runtime.db, tenant_id, invoice_id))
    with _VERDICTS_LOCK:
        _VERDICTS[key] = result
        while len(_VERDICTS) > MAX_VERDICTS:
            _VERDICTS.popitem(last=False)
    return result


@router.get("/invoices/{tenant_id}/{invoice_id}", response_class=HTMLResponse)
def invoice_detail(
    request: Request, session: PageSession, tenant_id: str, invoice_id: str
) -> HTMLResponse:
    runtime = _runtime(request)
    try:
        invoice = invoices.get_invoice(runtime.db, tenant_id[:36], invoice_id[:40])
    except BillportError as exc:
        return _not_found(request, session, "invoices", exc)
    document = {
        "id": invoice.invoice_id,
        "currencyCode": invoice.currency_code,
        "totalCharges": str(invoice.total_charges),
        "invoiceDate": invoice.invoice_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "billingPeriodStartDate": invoice.billing_period_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "billingPeriodEndDate": invoice.billing_period_end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    result = _verdict(runtime, tenant_id, invoice.invoice_id, document)
    currency = invoice.currency_code
    customers = [s for s in result.by_customer if s.currency == currency]
    charges = [s for s in result.by_charge_type if s.currency == currency]
    return render(
        request,
        "invoice.html",
        session=session,
        page="invoices",
        tenant_id=tenant_id,
        invoice=invoice,
        result=result,
        customers=customers,
        charges=charges,
        customer_chart=bar_chart([(s.label, s.total, s.flagged > 0) for s in customers], currency),
        charge_chart=bar_chart([(s.label, s.total, s.flagged > 0) for s in charges], currency),
    )
