"""Resellers: a provider re-serves its billing data to the resellers it supplies.

A reseller is a tenant of its own (a ``partners`` row and development clients, or a tenant
of an external issuer) with the customers it owns. Its *view* is written into the store
under its tenant id: the provider's rows of those customers, re-priced by the provider's
markup rules (:mod:`billport.billing.markup`), with the fields that show the provider's
cost replaced, and invoices that total the reseller's rows. So every route — invoices,
line items, documents, Graph exports of every dataset, manifests, blobs — serves a reseller
exactly as it serves any tenant, through the one tenant check every route already has: a
reseller cannot reach the provider's rows or another reseller's, because they are not its.

A view is rebuilt (:func:`refresh`) whenever its inputs change: a reseller added, changed
or removed, the rules set, the provider's data imported. A rebuild replaces only the row
sets that changed (same rows keep their ids, so their manifests stay the same; changed
ones get new ids and so new manifests with a new eTag; old manifests stay valid until
they expire), in one transaction: a reseller sees its old view or its new one.

Which reseller owns a row: the row's own ``Tier2MpnId`` when it names a reseller (Microsoft
records the indirect reseller on each reconciliation row); else its ``CustomerId`` when a
reseller lists that customer; else the customer's reseller MPN id as the provider's
customers table or its reconciliation rows say (daily-rated usage rows from the portal
carry no ``Tier2MpnId``). A row has at most one owner: two resellers of one provider cannot
claim the same customer or MPN id.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa

from billport.auth.partners import forget_partners
from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.ids import check_tenant_id
from billport.billing.markup import (
    COST_FIELDS,
    Rules,
    parse_rules,
    reprice_reconciliation,
    reprice_usage,
    rules_document,
)
from billport.errors import InvalidRequest, NotFound
from billport.ingest.reader import scope_name
from billport.ingest.rows import Renderer, Shape
from billport.store import imports as imports_store
from billport.store import loading
from billport.store import resellers as store
from billport.store.clients import Client, default_tenant_id, insert_client
from billport.store.db import Database
from billport.store.imports import RowScope
from billport.store.resellers import Reseller
from billport.usecases.replacing import Written, settle

CENT = Decimal("0.01")
BATCH_ROWS = 5000
MAX_OWNED = 10_000  # customer ids or MPN ids one reseller lists
STORED = tuple(d for d in Dataset if not d.aggregated)
# The fields a view reads from each provider row (to pick the owner, the rule, the price).
_TEXT = ("CustomerId", "Tier2MpnId", "ProductId", "SkuId", "MeterId", "ChargeType",
         "PricingCurrency", "TermAndBillingCycle", "MeterDescription")  # fmt: skip
_AMOUNTS = ("UnitPrice", "EffectiveUnitPrice", "BillableQuantity", "Quantity", "Subtotal",
            "TaxTotal", "Total", "PCToBCExchangeRate", "PricingPreTaxTotal",
            "BillingPreTaxTotal")  # fmt: skip


@dataclass(frozen=True)
class ResellerRequest:
    """``billport resellers add`` / ``PUT /_billport/resellers/{tenantId}``."""

    tenant_id: str
    name: str
    mpn_id: str = ""
    customer_ids: tuple[str, ...] = ()
    tier2_mpn_ids: tuple[str, ...] = ()
    provider_id: str | None = None  # default: the store's default partner
    client: bool = True  # create a development client (with a secret shown once)


@dataclass
class ViewReport:
    """What a rebuild of one reseller's view did."""

    tenant_id: str
    rows: int = 0
    invoices: int = 0
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class ResellerResult:
    reseller: Reseller
    created: bool
    client: Client | None  # with its plain secret, when one was created
    views: list[ViewReport]


def reseller_json(reseller: Reseller) -> dict[str, Any]:
    """A reseller as the admin API and ``billport resellers list --json`` show it."""
    return {
        "tenantId": reseller.tenant_id,
        "providerId": reseller.provider_id,
        "name": reseller.name,
        "mpnId": reseller.mpn_id,
        "customers": list(reseller.customer_ids),
        "tier2MpnIds": list(reseller.tier2_mpn_ids),
        "createdAt": None if reseller.created_at is None else reseller.created_at.isoformat(),
    }


def view_json(view: ViewReport) -> dict[str, Any]:
    return {
        "tenantId": view.tenant_id,
        "rows": view.rows,
        "invoices": view.invoices,
        "added": view.added,
        "replaced": view.replaced,
        "unchanged": view.unchanged,
        "removed": view.removed,
    }


# -- commands --------------------------------------------------------------------------


def list_resellers(db: Database, provider_id: str | None = None) -> list[Reseller]:
    with db.connect() as conn:
        return store.select_resellers(conn, provider_id)


def add_reseller(db: Database, request: ResellerRequest, now: datetime) -> ResellerResult:
    """Declare (or change) a reseller and build its view, in one transaction."""
    tenant_id = _guid(request.tenant_id)
    with loading.bulk_transaction(db.engine) as conn:
        imports_store.lock_writers(conn)
        provider_id = _provider(conn, request.provider_id)
        existing = store.select_reseller(conn, tenant_id)
        reseller = _checked(conn, request, tenant_id, provider_id, existing, now)
        client = None
        if existing is None:
            if imports_store.partner_exists(conn, tenant_id):
                raise InvalidRequest(
                    f"tenant {tenant_id} is already a partner of this store: a reseller needs "
                    "a tenant of its own"
                )
            imports_store.insert_partner(conn, _partner_row(reseller, now))
            store.insert_reseller(conn, reseller)
            if request.client:
                client = insert_client(
                    conn, tenant_id=tenant_id, display_name=f"{reseller.name} (reseller)",
                    created_at=now,
                )  # fmt: skip
        else:
            store.update_reseller(conn, reseller)
            store.update_partner_names(conn, tenant_id, reseller.name, reseller.mpn_id)
        views = _refresh(conn, provider_id)
    return ResellerResult(reseller, existing is None, client, views)


def remove_reseller(db: Database, tenant_id: str) -> Reseller:
    """Remove a reseller: its tenant, clients and view (its exports expire as usual)."""
    tenant_id = check_tenant_id(tenant_id)
    with db.begin() as conn:
        reseller = store.select_reseller(conn, tenant_id)
        if reseller is None:
            raise NotFound(f"no reseller {tenant_id}")
        store.delete_reseller(conn, tenant_id)
    forget_partners(db)
    return reseller


def rules_of(db: Database, provider_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The provider and its rules document (canonical form; empty when none is set)."""
    with db.connect() as conn:
        provider = _provider(conn, provider_id)
        return provider, rules_document(store.select_rules(conn, provider))


def set_rules(
    db: Database, document: Any, now: datetime, provider_id: str | None = None
) -> tuple[dict[str, Any], list[ViewReport]]:
    """Check and store the provider's rules, and rebuild its resellers' views."""
    canonical = rules_document(document)  # InvalidRequest before anything is written
    with loading.bulk_transaction(db.engine) as conn:
        imports_store.lock_writers(conn)
        provider = _provider(conn, provider_id)
        store.store_rules(conn, provider, canonical, now)
        views = _refresh(conn, provider)
    return canonical, views


def refresh(db: Database, provider_id: str | None = None) -> list[ViewReport]:
    """Rebuild the views of a provider's resellers (every provider's when None)."""
    with loading.bulk_transaction(db.engine) as conn:
        imports_store.lock_writers(conn)
        chosen = [_provider(conn, provider_id)] if provider_id else store.providers(conn)
        return [view for provider in chosen for view in _refresh(conn, provider)]


def refresh_in(conn: sa.Connection, provider_id: str) -> list[ViewReport]:
    """:func:`refresh` inside the caller's transaction (``billport import``'s)."""
    return _refresh(conn, provider_id)


@dataclass(frozen=True)
class CustomerPreview:
    customer_id: str
    name: str
    rows: int
    cost: Decimal  # the provider's Total of the reseller's rows
    price: Decimal  # the reseller's Total of the same rows


@dataclass(frozen=True)
class InvoicePreview:
    """A reseller's invoice next to what its rows cost the provider."""

    reseller: Reseller
    invoice_id: str
    currency: str
    total_charges: Decimal  # the reseller's invoice
    customers: tuple[CustomerPreview, ...]

    @property
    def cost(self) -> Decimal:
        return sum((c.cost for c in self.customers), Decimal(0))

    @property
    def price(self) -> Decimal:
        return sum((c.price for c in self.customers), Decimal(0))


def invoices_of(db: Database, tenant_id: str) -> list[dict[str, Any]]:
    """A reseller's invoices (store rows), newest first."""
    with db.connect() as conn:
        rows = list(store.invoice_rows(conn, tenant_id).values())
    return sorted(rows, key=lambda r: (r["invoice_date"], r["invoice_id"]), reverse=True)


def preview(db: Database, tenant_id: str, invoice_id: str) -> InvoicePreview:
    """The reseller's invoice ``invoice_id`` beside the provider's cost of its rows, per
    customer (billed reconciliation ``Total``s)."""
    with db.connect() as conn:
        reseller = store.select_reseller(conn, tenant_id)
        if reseller is None:
            raise NotFound(f"no reseller {tenant_id}")
        header = store.invoice_rows(conn, tenant_id).get(invoice_id)
        if header is None:
            raise NotFound(f"reseller {tenant_id} has no invoice {invoice_id}")
        provider = reseller.provider_id
        owners = _owners(conn, provider, store.select_resellers(conn, provider))
        recon = Dataset.BILLED_RECONCILIATION.code
        cost: dict[str, Decimal] = {}
        for customer, total, doc in store.invoice_totals(conn, provider, invoice_id, recon):
            owner = owners.of(customer, _tier2(doc) if owners.by_tier2 else "")
            if owner is not None and owner.tenant_id == tenant_id:
                cost[customer] = cost.get(customer, Decimal(0)) + total
        price: dict[str, list[Any]] = {}
        for customer, total, _ in store.invoice_totals(conn, tenant_id, invoice_id, recon):
            slot = price.setdefault(customer, [0, Decimal(0)])
            slot[0] += 1
            slot[1] += total
        names = store.customer_names(conn, tenant_id)
    customers = tuple(
        CustomerPreview(
            c,
            names.get(c, ""),
            int(price.get(c, [0])[0]),
            cost.get(c, Decimal(0)),
            price.get(c, [0, Decimal(0)])[1],
        )  # fmt: skip
        for c in sorted(set(cost) | set(price), key=lambda c: (names.get(c, ""), c))
    )
    return InvoicePreview(
        reseller, invoice_id, header["currency_code"], header["total_charges"], customers
    )


# -- checks ----------------------------------------------------------------------------


def _guid(text: str) -> str:
    """A reseller's tenant id: an Entra tenant is a GUID (written lowercase here)."""
    check_tenant_id(text)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidRequest(f"a reseller's tenant id is a GUID, not {text[:40]!r}") from None


def _provider(conn: sa.Connection, provider_id: str | None) -> str:
    if provider_id is None:
        provider_id = default_tenant_id(conn)
        if provider_id is None:
            raise NotFound("this store has no partner yet: seed or import a provider first")
    provider_id = check_tenant_id(provider_id, "provider")
    if not imports_store.partner_exists(conn, provider_id):
        raise NotFound(f"no partner tenant {provider_id} in this store")
    if store.select_reseller(conn, provider_id) is not None:
        raise InvalidRequest(f"{provider_id} is a reseller, not a provider")
    return provider_id


def _owned(values: Iterable[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if not text or len(text) > 36 or any(c.isspace() or ord(c) < 32 for c in text):
            raise InvalidRequest(f"{what}: {text[:40]!r} is not an id")
        if text.lower() not in (o.lower() for o in out):
            out.append(text)
    if len(out) > MAX_OWNED:
        raise InvalidRequest(f"at most {MAX_OWNED} {what} per reseller")
    return tuple(out)


def _checked(
    conn: sa.Connection,
    request: ResellerRequest,
    tenant_id: str,
    provider_id: str,
    existing: Reseller | None,
    now: datetime,
) -> Reseller:
    name = request.name.strip()
    if not name or len(name) > 200:
        raise InvalidRequest("a reseller needs a name of 1 to 200 characters")
    mpn = request.mpn_id.strip()
    if len(mpn) > 20 or not all(c.isascii() and c.isalnum() for c in mpn):
        raise InvalidRequest("an MPN id is up to 20 letters or digits")
    if tenant_id == provider_id:
        raise InvalidRequest("a reseller cannot be its own provider")
    if existing is not None and existing.provider_id != provider_id:
        raise InvalidRequest(f"{tenant_id} is a reseller of {existing.provider_id}")
    customers = _owned(request.customer_ids, "customer ids")
    tier2 = _owned(request.tier2_mpn_ids, "MPN ids")
    if mpn and mpn.lower() not in (t.lower() for t in tier2):
        tier2 = (*tier2, mpn)  # its own MPN id is how Microsoft's rows name it
    if not customers and not tier2:
        raise InvalidRequest("a reseller owns customers: give customer ids, MPN ids or both")
    for other in store.select_resellers(conn, provider_id):
        if other.tenant_id == tenant_id:
            continue
        for mine, theirs, what in ((customers, other.customer_ids, "customer"),
                                   (tier2, other.tier2_mpn_ids, "MPN id")):  # fmt: skip
            clash = {m.lower() for m in mine} & {t.lower() for t in theirs}
            if clash:
                raise InvalidRequest(
                    f"{what} {sorted(clash)[0]} already belongs to reseller {other.name} "
                    f"({other.tenant_id})"
                )
    created = existing.created_at if existing is not None else now
    return Reseller(tenant_id, provider_id, name, mpn, customers, tier2, created)


def _partner_row(reseller: Reseller, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": reseller.tenant_id,
        "name": reseller.name,
        "mpn_id": reseller.mpn_id,
        "domain_name": "",
        "country": "",
        "is_default": False,
        "created_at": now,
    }


# -- views -----------------------------------------------------------------------------


class _Owners:
    """Which reseller owns a row (see the module docstring for the order)."""

    def __init__(self, resellers: list[Reseller], customer_tier2: Mapping[str, str]) -> None:
        self.by_tier2 = {t.lower(): r for r in resellers for t in r.tier2_mpn_ids}
        self.by_customer = {c.lower(): r for r in resellers for c in r.customer_ids}
        self.customer_tier2 = {c.lower(): t.lower() for c, t in customer_tier2.items()}

    def learn(self, customer: str, tier2: str) -> None:
        if customer and tier2:
            self.customer_tier2.setdefault(customer.lower(), tier2.lower())

    def of(self, customer: str, tier2: str) -> Reseller | None:
        if tier2 and (owner := self.by_tier2.get(tier2.lower())) is not None:
            return owner
        if (owner := self.by_customer.get(customer.lower())) is not None:
            return owner
        known = self.customer_tier2.get(customer.lower())
        return None if known is None else self.by_tier2.get(known)


def _owners(conn: sa.Connection, provider_id: str, sellers: list[Reseller]) -> _Owners:
    owners = _Owners(sellers, store.customer_tier2(conn, provider_id))
    if owners.by_tier2:  # reconciliation rows name each customer's reseller; portal usage not
        recon = [d.code for d in STORED if not d.usage]
        for customer, doc in store.provider_docs(conn, provider_id, recon):
            owners.learn(customer, _tier2(doc))
    return owners


@dataclass
class _Tally:
    rows: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _refresh(conn: sa.Connection, provider_id: str) -> list[ViewReport]:
    """Rebuild every view of ``provider_id``'s resellers on ``conn`` (inside its transaction)."""
    sellers = store.select_resellers(conn, provider_id)
    if not sellers:
        return []
    rules = parse_rules(store.select_rules(conn, provider_id))
    owners = _owners(conn, provider_id, sellers)
    renderers = {d: Renderer(Shape(d, AttributeSet.FULL)) for d in STORED}
    templates = {d: _template(r) for d, r in renderers.items()}
    reports = {r.tenant_id: ViewReport(r.tenant_id) for r in sellers}
    floor = imports_store.max_line_id(conn)
    old_scopes = {r.tenant_id: _scopes(conn, r.tenant_id) for r in sellers}
    tallies: dict[RowScope, _Tally] = {}
    customers: dict[str, set[str]] = {r.tenant_id: set(r.customer_ids) for r in sellers}
    sink = loading.line_item_sink(conn)
    batch: list[tuple[Any, ...]] = []
    for row in store.provider_rows(conn, provider_id):
        doc = bytes(row.doc_full)
        owner = owners.of(row.customer_id, _tier2(doc) if owners.by_tier2 else "")
        if owner is None:
            continue
        dataset = Dataset.from_code(row.dataset)
        renderer = renderers[dataset]
        pairs = renderer.pairs(doc.decode())
        full, basic, total = _view_row(
            renderer, templates[dataset], pairs, dataset, owner, rules, row.total
        )
        scope = _scope(owner.tenant_id, dataset, row.invoice_id, row.billing_month, row.currency)
        tally = tallies.get(scope) or tallies.setdefault(scope, _Tally())
        tally.rows += 1
        tally.digest.update(full)
        tally.digest.update(b"\n")
        customers[owner.tenant_id].add(row.customer_id)
        head = (owner.tenant_id, row.dataset, row.invoice_id, row.billing_month, row.currency)
        batch.append((*head, row.customer_id, row.charge_type, total, 0, full, basic))
        if len(batch) >= BATCH_ROWS:
            sink(batch)
            batch = []
    if batch:
        sink(batch)
    written = {s: Written("doc_full", t.rows, t.digest.hexdigest()) for s, t in tallies.items()}
    settled = settle(conn, written, floor)
    for verb in ("added", "replaced", "unchanged"):
        for scope in getattr(settled, verb):
            getattr(reports[scope.tenant_id], verb).append(scope_name(scope))
    for scope, new in written.items():
        reports[scope.tenant_id].rows += new.rows
    for reseller in sellers:
        report = reports[reseller.tenant_id]
        for scope in sorted(old_scopes[reseller.tenant_id] - set(written), key=scope_name):
            imports_store.delete_rows(conn, scope, above=floor, new=False)
            report.removed.append(scope_name(scope))
        report.invoices = _invoices(conn, provider_id, reseller, written)
        store.copy_customers(conn, provider_id, reseller.tenant_id, customers[reseller.tenant_id])
    return [reports[r.tenant_id] for r in sellers]


def _scope(
    tenant_id: str, dataset: Dataset, invoice_id: str | None, month: int, currency: str
) -> RowScope:
    if dataset.billed:
        return RowScope(tenant_id, dataset, invoice_id, None, None)
    return RowScope(tenant_id, dataset, None, month, currency)


def _scopes(conn: sa.Connection, tenant_id: str) -> set[RowScope]:
    return {
        _scope(tenant_id, Dataset.from_code(r.dataset), r.invoice_id, r.billing_month, r.currency)
        for r in store.tenant_scopes(conn, tenant_id)
    }


_TIER2 = re.compile(rb'"Tier2MpnId":\s*"((?:[^"\\]|\\.)*)"')


def _tier2(doc: bytes) -> str:
    """The row's ``Tier2MpnId`` ('' when empty or absent), without parsing the row."""
    found = _TIER2.search(doc)
    if found is None:
        return ""
    raw = found.group(1)
    return str(json.loads(b'"' + raw + b'"')) if b"\\" in raw else raw.decode()


def _template(renderer: Renderer) -> tuple[str, Callable[[dict[str, str]], Any]]:
    """The full document as one %-format over its values in export order."""
    names = renderer.full
    return "{" + ",".join(f'"{n}":%s' for n in names) + "}", itemgetter(*names)


def _text(raw: str | None) -> str:
    if raw is None or raw == "null":
        return ""
    value = json.loads(raw) if "\\" in raw else raw[1:-1]
    return str(value)


def _decimal(raw: str | None) -> Decimal | None:
    return None if raw is None or raw == "null" else Decimal(raw)


def _raw(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return orjson.dumps(value).decode()


def _view_row(
    renderer: Renderer,
    template: tuple[str, Callable[[dict[str, str]], Any]],
    pairs: dict[str, str],
    dataset: Dataset,
    owner: Reseller,
    rules: Rules,
    total: Any,
) -> tuple[bytes, bytes, str]:
    """The reseller's documents of one provider row, and its ``total`` column."""
    values: dict[str, Any] = {name: _text(pairs.get(name)) for name in _TEXT if name in pairs}
    values.update({name: _decimal(pairs[name]) for name in _AMOUNTS if name in pairs})
    markup = rules.markup(owner.tenant_id, values)
    reprice = reprice_usage if dataset.usage else reprice_reconciliation
    changed: dict[str, Any] = {
        **{k: v for k, v in COST_FIELDS.items() if pairs.get(k, "null") != "null"},
        "PartnerId": owner.tenant_id,
        "PartnerName": owner.name,
        "MpnId": owner.mpn_id,
        **reprice(values, markup),
    }
    view = dict(pairs)
    for name, value in changed.items():
        if name in view:
            view[name] = _raw(value)
    full = (template[0] % template[1](view)).encode()
    basic = (renderer.other % renderer.pick(view)).encode()
    amount = changed.get("BillingPreTaxTotal" if dataset.usage else "Total")
    return full, basic, str(amount if amount is not None else Decimal(str(total)))


def _invoices(
    conn: sa.Connection, provider_id: str, reseller: Reseller, written: Iterable[RowScope]
) -> int:
    """The reseller's invoices: the provider's headers of the invoices it has rows on, each
    totalling the reseller's reconciliation rows; unpaid (what a reseller paid its provider
    is not in Microsoft's data). Returns how many it has."""
    ids = {s.invoice_id for s in written if s.tenant_id == reseller.tenant_id and s.invoice_id}
    provider = store.invoice_rows(conn, provider_id)
    mine = store.invoice_rows(conn, reseller.tenant_id)
    for invoice_id in set(mine) - ids:
        store.delete_invoice(conn, reseller.tenant_id, invoice_id)
    count = 0
    for invoice_id in sorted(ids):
        header = provider.get(invoice_id)
        if header is None:
            continue
        recon = RowScope(reseller.tenant_id, Dataset.BILLED_RECONCILIATION, invoice_id, None, None)
        total = imports_store.scope_total(conn, recon).quantize(CENT)
        row = {**header, "tenant_id": reseller.tenant_id, "total_charges": total,
               "paid_amount": Decimal("0.00")}  # fmt: skip
        if mine.get(invoice_id) != row:
            store.replace_invoice(conn, row)
        count += 1
    return count
