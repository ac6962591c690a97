"""Admin use cases: reset the sandbox between test runs, and seed it over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billport.errors import InvalidRequest
from billport.runtime import Runtime
from billport.store import loading, resets
from billport.store import request_log as request_store

MAX_SEED_LINE_ITEMS = 2_000_000  # larger stores: `billport seed`, which does not hold a request
SEED_LIMITS = {
    "seed": (-(2**31), 2**31 - 1),
    "lineItems": (0, MAX_SEED_LINE_ITEMS),
    "tenants": (1, 50),
    "customers": (1, 1_000),
    "months": (1, 36),
}


def reset(runtime: Runtime, *, all_data: bool) -> dict[str, Any]:
    """Forget every operation, manifest, exported blob and logged request.

    ``all_data`` also empties partners, clients, invoices and line items (then seed again).
    Rows go first, in one transaction, so no manifest ever points at deleted blobs.
    """
    with runtime.db.begin() as conn:
        operations, manifests = resets.delete_exports(conn)
        requests = request_store.delete_requests(conn)
        if all_data:
            loading.delete_tenant_data(conn)
    blobs = runtime.blobs.delete_prefix("")
    return {
        "operations": operations,
        "manifests": manifests,
        "blobs": blobs,
        "requests": requests,
        "allData": all_data,
    }


@dataclass(frozen=True)
class SeedRequest:
    """The body of ``POST /_billport/seed``: the options of ``billport seed``, in camelCase."""

    seed: int = 1
    line_items: int = 10_000
    tenants: int = 3
    customers: int = 25
    months: int = 12
    demo: bool = False
    reset: bool = False
    invoice: str | None = None


def parse_seed_request(body: Any) -> SeedRequest:
    if body is None:
        return SeedRequest()
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    allowed = set(SEED_LIMITS) | {"demo", "reset", "invoice"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(f"Unknown seed option '{unknown[0]}'.")
    values: dict[str, Any] = {}
    for key, (low, high) in SEED_LIMITS.items():
        if key in body:
            raw = body[key]
            if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
                raise InvalidRequest(f"'{key}' must be an integer between {low} and {high}.")
            values["line_items" if key == "lineItems" else key] = raw
    for key in ("demo", "reset"):
        if key in body:
            if not isinstance(body[key], bool):
                raise InvalidRequest(f"'{key}' must be true or false.")
            values[key] = body[key]
    if body.get("invoice") is not None:
        invoice = body["invoice"]
        if not isinstance(invoice, str) or not 1 <= len(invoice.strip()) <= 20:
            raise InvalidRequest("'invoice' must be an invoice id of 1 to 20 characters.")
        values["invoice"] = invoice.strip()
    request = SeedRequest(**values)
    if request.demo and request.invoice:
        raise InvalidRequest("'demo' and 'invoice' cannot be combined.")
    return request


def seed(runtime: Runtime, request: SeedRequest) -> dict[str, Any]:
    """Run ``billport seed`` with these options on the server's own store."""
    from billport.seed.append import append_to_invoice
    from billport.seed.demo import seed_demo_dataset
    from billport.seed.generator import SeedOptions, ensure_empty, seed_store

    db, now = runtime.db, runtime.clock()
    if request.invoice:
        added = append_to_invoice(db, request.invoice, request.line_items, now, seed=request.seed)
        return {
            "tenantId": added.tenant_id,
            "invoiceId": added.invoice_id,
            "createdInvoice": added.created_invoice,
            "lineItems": sum(added.added.values()),
        }
    if request.reset:
        reset(runtime, all_data=True)
    try:
        ensure_empty(db)
    except InvalidRequest:
        raise InvalidRequest(
            'The store already holds data: send "reset": true to replace it, or "invoice" '
            "to add line items to one invoice."
        ) from None
    if request.demo:
        report = seed_demo_dataset(db, now)
    else:
        options = SeedOptions(
            seed=request.seed,
            line_items=request.line_items,
            tenants=request.tenants,
            customers=request.customers,
            months=request.months,
            parallel=False,
        )
        report = seed_store(db, options, now)
    default = next(p for p in report.partners if p.is_default)
    return {
        "tenants": [p.tenant_id for p in report.partners],
        "defaultTenant": default.tenant_id,
        "invoices": len(report.invoices),
        "lineItems": report.total_line_items,
    }
