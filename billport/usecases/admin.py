"""Admin use cases: reset the sandbox between test runs, and seed it.

Both exist once: the admin API (``POST /_billport/reset``, ``POST /_billport/seed``) and
the CLI (``billport seed [--reset]``) call these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billport.auth.partners import forget_partners
from billport.billing.ids import MAX_INVOICE_ID_LENGTH, SAFE_ID_PATTERN, check_invoice_id
from billport.blobs.base import BlobStore
from billport.errors import InvalidRequest
from billport.seed.append import AppendReport, append_to_invoice
from billport.seed.demo import seed_demo_dataset
from billport.seed.generator import SeedOptions, SeedReport, ensure_empty, seed_store
from billport.store import request_log, resets
from billport.store.db import Database

MAX_SEED_LINE_ITEMS = 2_000_000  # larger stores: `billport seed`, which does not hold a request
SEED_LIMITS = {
    "seed": (-(2**31), 2**31 - 1),
    "lineItems": (0, MAX_SEED_LINE_ITEMS),
    "tenants": (1, 50),
    "customers": (1, 1_000),
    "months": (1, 36),
}


@dataclass(frozen=True)
class ResetReport:
    operations: int
    manifests: int
    blobs: int
    requests: int
    all_data: bool


def reset(db: Database, blobs: BlobStore, *, all_data: bool) -> ResetReport:
    """Forget every export (operations, their plans and partitions, manifests, blobs) and
    every logged request; ``all_data`` also empties partners, clients, invoices and line
    items (then seed again). Scenarios stay.

    Rows go first, in one transaction, so no manifest ever points at deleted blobs.
    """
    with db.begin() as conn:
        operations, manifests = resets.delete_exports(conn)
        requests = request_log.delete_requests(conn)
        if all_data:
            resets.delete_data(conn)
    if all_data:
        forget_partners(db)
    removed = blobs.delete_prefix("")
    return ResetReport(operations, manifests, removed, requests, all_data)


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
    parallel: bool = False  # render rows in a forked process (PostgreSQL; the CLI's option)


FLAGS = ("demo", "reset")
# The OpenAPI schema of POST /_billport/seed, from the limits parse_seed_request applies.
SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{
            key: {"type": "integer", "minimum": low, "maximum": high}
            for key, (low, high) in SEED_LIMITS.items()
        },
        **{key: {"type": "boolean"} for key in FLAGS},
        "invoice": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_INVOICE_ID_LENGTH,
            "pattern": SAFE_ID_PATTERN,
        },
    },
    "additionalProperties": False,
}


def parse_seed_request(body: Any) -> SeedRequest:
    if body is None:
        return SeedRequest()
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    allowed = set(SEED_SCHEMA["properties"])
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
    for key in FLAGS:
        if key in body:
            if not isinstance(body[key], bool):
                raise InvalidRequest(f"'{key}' must be true or false.")
            values[key] = body[key]
    if body.get("invoice") is not None:
        values["invoice"] = check_invoice_id(body["invoice"], "invoice")
    return SeedRequest(**values)


@dataclass(frozen=True)
class Seeded:
    """What a seed did: a whole store (``store``), or line items added to one invoice."""

    store: SeedReport | None = None
    appended: AppendReport | None = None


def seed(
    db: Database,
    blobs: BlobStore,
    now: datetime,
    request: SeedRequest,
    on_rows: Callable[[int], None] | None = None,
) -> Seeded:
    """Seed synthetic data: a whole store (after a reset when asked), or more line items
    for one invoice. A store that already holds data is refused unless reset.
    ``on_rows`` hears the line items stored so far of a whole store (a progress display)."""
    if request.demo and request.invoice:
        raise InvalidRequest("'demo' and 'invoice' cannot be combined.")
    if request.invoice:
        invoice = check_invoice_id(request.invoice, "invoice")  # the CLI's way in, too
        appended = append_to_invoice(db, invoice, request.line_items, now, seed=request.seed)
        return Seeded(appended=appended)
    if request.reset:
        reset(db, blobs, all_data=True)
    ensure_empty(db)
    if request.demo:
        return Seeded(store=seed_demo_dataset(db, now))
    options = SeedOptions(
        seed=request.seed,
        line_items=request.line_items,
        tenants=request.tenants,
        customers=request.customers,
        months=request.months,
        parallel=request.parallel,
    )
    return Seeded(store=seed_store(db, options, now, on_rows=on_rows))
