"""Partner Center v1 invoice line items (path and query forms) over the exports' rows.

The rows are the ``line_items`` the Graph exports stream (billed reconciliation and usage
per invoice, unbilled per month and currency), so an invoice totals the same through both
APIs. Query-form listings and path-form listings continued with ``seekOperation=Next``
page by a signed id cursor (:mod:`billport.billing.continuation`); the path form pages by
``offset`` otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from billport.billing import continuation
from billport.billing.continuation import Cursor
from billport.billing.datasets import AttributeSet
from billport.billing.invoices import Invoice, parse_invoice_ref
from billport.billing.line_items import (
    UNBILLED,
    ItemKind,
    Listing,
    Provider,
    has_listing,
    listing_for,
    v1_item,
)
from billport.billing.retirement import retirement
from billport.billing.scopes import Scope
from billport.clock import month_key, previous_month_key
from billport.errors import InvalidRequest, NotFound
from billport.store import invoices as invoice_store
from billport.store import line_items as store
from billport.store.db import Database

PERIODS = ("current", "previous")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@functools.cache
def token_key(server_key: bytes) -> bytes:
    """The continuation tokens' HMAC key, derived from the server's SAS secret."""
    return hmac.new(server_key, b"billport v1 line-item continuation", hashlib.sha256).digest()


@dataclass(frozen=True)
class LineItemRequest:
    """One call of either form, its parameters already parsed."""

    invoice_id: str  # as in the URL: bare, Recurring-/OneTime- prefixed, or "unbilled"
    provider: Provider
    kind: ItemKind
    query_form: bool
    size: int
    offset: int | None = None  # path form only
    token: str | None = None  # MS-ContinuationToken
    currency: str | None = None
    period: str | None = None  # current | previous

    @property
    def unbilled(self) -> bool:
        return self.invoice_id.lower() == UNBILLED


@dataclass(frozen=True)
class LineItemPage:
    items: list[dict[str, Any]]
    listing: Listing
    token: str | None  # continues after this page (None: the last page)
    next_offset: int | None  # path form's offset paging


@dataclass(frozen=True)
class _Target:
    listing: Listing
    scope: Scope | None  # None: no stored rows of this kind (legacy Office/Azure)


def _check_period(period: str | None, required: bool) -> str | None:
    if period is None and not required:
        return None
    if (period or "").lower() not in PERIODS:
        raise InvalidRequest("period must be current or previous.")
    return (period or "").lower()


def _check_currency(currency: str | None, required: bool) -> str | None:
    if currency is None and not required:
        return None
    if not _CURRENCY.fullmatch(currency or ""):
        raise InvalidRequest("currencycode must be a three-letter ISO 4217 code, e.g. usd.")
    return (currency or "").upper()


def _unbilled(request: LineItemRequest, tenant_id: str, now: datetime) -> _Target:
    listing = listing_for(request.provider, request.kind)
    dataset = listing.unbilled
    if not request.query_form or dataset is None:
        raise InvalidRequest(
            "Unbilled line items are served by the query form only: "
            "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=...&"
            "currencycode=...&period=current|previous."
        )
    currency = _check_currency(request.currency, required=True)
    period = _check_period(request.period, required=True)
    month = month_key(now) if period == "current" else previous_month_key(month_key(now))
    if reason := retirement(dataset, modern=True, billing_month=month, now=now):
        raise InvalidRequest(reason)
    return _Target(listing, Scope(tenant_id, dataset, AttributeSet.FULL, month, None, currency))


def _invoice(conn: sa.Connection, tenant_id: str, raw_id: str) -> Invoice:
    ref = parse_invoice_ref(raw_id)
    invoice = invoice_store.select_invoice(conn, tenant_id, ref.invoice_id)
    if invoice is None or not ref.accepts(invoice):
        raise NotFound(f"Invoice '{raw_id}' was not found.")
    return invoice


def _billed(request: LineItemRequest, tenant_id: str, invoice: Invoice, now: datetime) -> _Target:
    listing = listing_for(request.provider, request.kind)
    if request.query_form and listing.billed is None:
        raise InvalidRequest(
            f"provider {request.provider.value.lower()} is served by the path form: "
            f"/invoices/{{id}}/lineitems/{request.provider.value}/{request.kind.value}."
        )
    if not has_listing(invoice, listing):
        raise NotFound(
            f"Invoice '{invoice.invoice_id}' has no {listing.billing_provider} "
            f"{listing.line_item_type}."
        )
    currency = _check_currency(request.currency, required=False)
    if currency is not None and currency != invoice.currency_code.upper():
        raise InvalidRequest(
            f"Invoice '{invoice.invoice_id}' is billed in {invoice.currency_code}, not {currency}."
        )
    _check_period(request.period, required=False)
    month = month_key(invoice.billing_period_start)
    dataset = listing.billed
    if dataset is None:
        return _Target(listing, None)
    modern = invoice.commerce == "modern"
    if request.query_form and (
        reason := retirement(dataset, modern=modern, billing_month=month, now=now)
    ):
        raise InvalidRequest(reason)
    scope = Scope(tenant_id, dataset, AttributeSet.FULL, month, invoice.invoice_id)
    return _Target(listing, scope)


def _scope_key(tenant_id: str, target: _Target) -> str:
    """What a token is bound to: the tenant and exactly the rows of this listing."""
    scope = target.scope
    assert scope is not None
    where = scope.invoice_id or f"{scope.billing_month}:{scope.currency}"
    return f"{tenant_id}|{scope.dataset.code}|{where}|{target.listing.object_type}"


def _page(
    conn: sa.Connection, key: bytes, request: LineItemRequest, target: _Target, tenant_id: str
) -> LineItemPage:
    """Read one page: seek by cursor, offset (path form), or a first seek page."""
    listing, scope, size = target.listing, target.scope, request.size
    if scope is None:
        return LineItemPage([], listing, None, None)
    bound = _scope_key(tenant_id, target)
    next_offset = None
    if request.token is not None:
        cursor = continuation.decode(key, request.token, bound)
        high = cursor.high
        rows = store.select_after(conn, scope, after=cursor.after, high=high, limit=size + 1)
    elif request.query_form:
        high = store.highest_id(conn, scope)
        rows = store.select_after(conn, scope, after=0, high=high, limit=size + 1)
    else:
        offset = request.offset or 0
        rows = store.select_offset(conn, scope, offset=offset, limit=size + 1)
        high = store.highest_id(conn, scope) if len(rows) > size else 0
        next_offset = offset + size if len(rows) > size else None
    token = None
    if len(rows) > size:
        token = continuation.encode(key, Cursor(bound, after=rows[size - 1][0], high=high))
    items = [v1_item(doc, listing) for _, doc in rows[:size]]
    return LineItemPage(items, listing, token, next_offset)


def list_line_items(
    db: Database, server_key: bytes, now: datetime, tenant_id: str, request: LineItemRequest
) -> LineItemPage:
    """One page of an invoice's (or the unbilled period's) v1 line items.

    Raises ``NotFound`` for an unknown invoice or one without such line items,
    ``InvalidRequest`` for bad parameters, a retired query or a bad continuation token.
    """
    key = token_key(server_key)
    with db.connect() as conn:
        if request.unbilled:
            target = _unbilled(request, tenant_id, now)
        else:
            invoice = _invoice(conn, tenant_id, request.invoice_id)
            target = _billed(request, tenant_id, invoice, now)
        return _page(conn, key, request, target, tenant_id)
