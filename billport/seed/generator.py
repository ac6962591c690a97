"""``billport seed``: a whole synthetic store in one transaction, streamed in batches."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.errors import InvalidRequest
from billport.seed import catalog
from billport.seed.forked import can_fork, forked_batches
from billport.seed.lines import Row, Scope, recon_rows, usage_rows
from billport.seed.pools import ReconTemplate, UsageTemplate, partner_pools
from billport.seed.world import (
    Invoice,
    InvoiceNumbers,
    Partner,
    Period,
    make_invoices,
    make_partner,
)
from billport.store import loading
from billport.store.clients import Client, insert_client
from billport.store.db import Database
from billport.store.tables import partners as partners_table

# Share of --line-items per dataset; billed usage takes the rounding remainder.
SPLIT: dict[Dataset, float] = {
    Dataset.BILLED_RECONCILIATION: 0.25,
    Dataset.BILLED_USAGE: 0.50,
    Dataset.UNBILLED_RECONCILIATION: 0.05,
    Dataset.UNBILLED_USAGE: 0.20,
}
CENT = Decimal("0.01")
InvoiceHook = Callable[[Partner, list[Invoice]], list[Invoice]]


@dataclass(frozen=True)
class SeedOptions:
    seed: int = 1
    line_items: int = 100_000
    tenants: int = 3
    customers: int = 25  # per tenant
    months: int = 12  # invoiced months before the open one
    batch_size: int = 20_000
    parallel: bool = True  # render in a forked child while this process writes


@dataclass
class SeedReport:
    partners: list[Partner]
    clients: list[Client]
    invoices: list[Invoice]
    line_items: dict[Dataset, int] = field(default_factory=dict)

    @property
    def total_line_items(self) -> int:
        return sum(self.line_items.values())


def split_counts(total: int, slots: int) -> list[int]:
    """``total`` spread as evenly as possible over ``slots``."""
    if slots == 0:
        return []
    base, extra = divmod(total, slots)
    return [base + (1 if i < extra else 0) for i in range(slots)]


def dataset_counts(total: int) -> dict[Dataset, int]:
    counts = {ds: int(total * share) for ds, share in SPLIT.items()}
    counts[Dataset.BILLED_USAGE] += total - sum(counts.values())
    return counts


def invoiced_periods(now: datetime, months: int) -> list[Period]:
    """The ``months`` most recent periods whose invoice (≤ 10 days after the end) is out."""
    newest = Period.of(now).shifted(-1)
    if newest.next_start + timedelta(days=10) > now:
        newest = newest.shifted(-1)
    return [newest.shifted(-i) for i in reversed(range(months))]


def ensure_empty(db: Database) -> None:
    with db.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(partners_table)).scalar():
            raise InvalidRequest(
                "the store already holds data: use --reset to replace it, "
                "or --invoice ID to add line items to one invoice"
            )


def client_for(rng: random.Random, partner: Partner) -> dict[str, str]:
    """Deterministic client id and secret (same seed, same credentials)."""
    return {
        "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "secret": f"{rng.getrandbits(256):064x}",
    }


def catalogue_rows() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``products`` and ``meters`` rows for the whole catalogue (USD list prices)."""
    products = [
        {
            "product_id": p.product_id,
            "sku_id": p.sku_id,
            "availability_id": "CFQ7TTC0" + p.sku_id,
            "product_name": p.product_name,
            "sku_name": p.sku_name,
            "publisher_name": p.publisher,
            "publisher_id": catalog.MICROSOFT_ID if p.publisher == catalog.MICROSOFT else "",
            "category": p.category,
            "unit_price": Decimal(p.usd_price_micro) / 1_000_000,
            "pricing_currency": "USD",
        }
        for p in catalog.PRODUCTS
    ]
    meters = [
        {
            "meter_id": str(uuid.uuid5(uuid.NAMESPACE_OID, m.name + m.region)),
            "meter_name": m.name,
            "meter_type": m.unit,
            "meter_category": m.category,
            "meter_subcategory": m.subcategory,
            "meter_region": m.region,
            "unit": m.unit,
            "consumed_service": m.service,
            "unit_price": Decimal(m.usd_price_micro) / 1_000_000,
        }
        for m in catalog.METERS
    ]
    return products, meters


def write_reference(
    conn: sa.Connection, partners: Sequence[Partner], credentials: Sequence[dict[str, str]]
) -> list[Client]:
    """Partners, their dev clients, customers and the catalogue."""
    loading.insert_partners(conn, [
        {"tenant_id": p.tenant_id, "name": p.name, "mpn_id": p.mpn_id,
         "domain_name": p.domain_name, "country": p.country, "is_default": p.is_default,
         "created_at": p.created_at}
        for p in partners
    ])  # fmt: skip
    clients = [
        insert_client(
            conn,
            tenant_id=p.tenant_id,
            display_name=f"{p.name} (dev)",
            created_at=p.created_at,
            client_id=credential["client_id"],
            secret=credential["secret"],
        )
        for p, credential in zip(partners, credentials, strict=True)
    ]
    loading.insert_customers(conn, [
        {"tenant_id": c.tenant_id, "customer_id": c.customer_id, "name": c.name,
         "domain_name": c.domain_name, "country": c.country, "tier2_mpn_id": c.tier2_mpn_id}
        for p in partners for c in p.customers
    ])  # fmt: skip
    products, meters = catalogue_rows()
    loading.insert_products(conn, products)
    loading.insert_meters(conn, meters)
    return clients


@dataclass
class _Job:
    scope: Scope
    count: int
    invoice: Invoice | None


def _jobs(
    partners: Sequence[Partner], invoices: Sequence[Invoice], now: datetime, total: int
) -> list[_Job]:
    """Every scope that gets line items, with its share of ``total``."""
    counts = dataset_counts(total)
    modern = [i for i in invoices if i.commerce == "modern"]
    jobs: list[_Job] = []
    for dataset in (Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE):
        for inv, n in zip(modern, split_counts(counts[dataset], len(modern)), strict=True):
            scope = Scope(
                inv.tenant_id, dataset, inv.period, inv.currency, inv.invoice_id, inv.period.end
            )
            jobs.append(_Job(scope, n, inv))
    current = Period.of(now)
    today = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
    open_scopes = [(p, period, cur) for p in partners for period in (current.shifted(-1), current)
                   for cur in p.currencies]  # fmt: skip
    for dataset in (Dataset.UNBILLED_RECONCILIATION, Dataset.UNBILLED_USAGE):
        for (p, period, cur), n in zip(
            open_scopes, split_counts(counts[dataset], len(open_scopes)), strict=True
        ):
            last = min(period.end, today)
            jobs.append(_Job(Scope(p.tenant_id, dataset, period, cur, None, last), n, None))
    return jobs


def job_batches(
    rng: random.Random,
    jobs: Sequence[_Job],
    pools: dict[str, tuple[list[ReconTemplate], list[UsageTemplate]]],
    batch_size: int,
    counted: dict[Dataset, int],
) -> Iterator[list[Row]]:
    """Rows of every job in order; billed reconciliation sums land on their invoice."""
    for job in jobs:
        scope = job.scope
        recon, usage = pools[scope.tenant_id]
        sums = [0]
        if scope.dataset.usage:
            templates_u = [t for t in usage if t.customer.currency == scope.currency]
            yield from usage_rows(rng, scope, templates_u, job.count, batch_size, sums)
        else:
            templates_r = [t for t in recon if t.customer.currency == scope.currency]
            yield from recon_rows(rng, scope, templates_r, job.count, batch_size, sums)
            if job.invoice is not None:
                job.invoice.line_cents += sums[0]
        counted[scope.dataset] = counted.get(scope.dataset, 0) + job.count


def build_partners(
    rng: random.Random,
    options: SeedOptions,
    now: datetime,
    fixed: Sequence[dict] = (),  # type: ignore[type-arg]
) -> list[Partner]:
    """``options.tenants`` partners; ``fixed`` overrides keyword arguments per index."""
    created = now - timedelta(days=31 * (options.months + 3))
    return [
        make_partner(rng, i, created, options.customers, **(fixed[i] if i < len(fixed) else {}))
        for i in range(options.tenants)
    ]


def _write_jobs(conn: sa.Connection, plan: Plan, options: SeedOptions, report: SeedReport) -> None:
    """Render and insert every job's rows; invoice sums and counts end up in ``report``."""

    parallel = options.parallel and can_fork()
    # Smaller batches in parallel mode keep the shared-memory slots small and the pipeline full.
    size = min(options.batch_size, 5_000) if parallel else options.batch_size

    def produce() -> Iterator[list[Row]]:
        return plan.batches(size, report.line_items)

    if not parallel:
        loading.write_line_items(conn, produce())
        return

    def summarise() -> tuple[dict[tuple[str, str], int], dict[Dataset, int]]:
        sums = {
            (j.invoice.tenant_id, j.invoice.invoice_id): j.invoice.line_cents
            for j in plan.jobs
            if j.invoice is not None
        }
        return sums, report.line_items

    result: list[tuple[dict[tuple[str, str], int], dict[Dataset, int]]] = []
    loading.write_line_items(conn, forked_batches(produce, summarise, result))
    sums, counted = result[0]
    report.line_items.update(counted)
    for job in plan.jobs:
        if job.invoice is not None:
            job.invoice.line_cents = sums[(job.invoice.tenant_id, job.invoice.invoice_id)]


@dataclass
class Plan:
    """Everything decided before the first line item: entities, templates and jobs."""

    rng: random.Random
    partners: list[Partner]
    credentials: list[dict[str, str]]  # client_id/secret per partner
    periods: list[Period]
    invoices: list[Invoice]
    pools: dict[str, tuple[list[ReconTemplate], list[UsageTemplate]]]
    jobs: list[_Job]

    def batches(self, batch_size: int, counted: dict[Dataset, int]) -> Iterator[list[Row]]:
        """Every line item row, in storage order (draws from ``rng``: iterate once)."""
        return job_batches(self.rng, self.jobs, self.pools, batch_size, counted)


def make_plan(
    options: SeedOptions,
    now: datetime,
    *,
    fixed_partners: Sequence[dict] = (),  # type: ignore[type-arg]
    invoice_hook: InvoiceHook | None = None,
    reserved_ids: set[str] | None = None,
) -> Plan:
    """Partners, invoices, templates and per-scope row counts for ``options``."""
    rng = random.Random(options.seed)
    partners = build_partners(rng, options, now, fixed_partners)
    credentials = [client_for(rng, p) for p in partners]
    periods = invoiced_periods(now, options.months)
    numbers = InvoiceNumbers(rng, reserved_ids)
    invoices: list[Invoice] = []
    for partner in partners:
        own = make_invoices(rng, partner, periods, numbers)
        invoices.extend(invoice_hook(partner, own) if invoice_hook else own)
    since = periods[0].start if periods else Period.of(now).start
    pools = {p.tenant_id: partner_pools(rng, p, since) for p in partners}
    jobs = _jobs(partners, invoices, now, options.line_items)
    return Plan(rng, partners, credentials, periods, invoices, pools, jobs)


def settle_invoices(plan: Plan) -> None:
    """Modern invoices total their reconciliation lines; older ones are paid."""
    newest = plan.periods[-1] if plan.periods else None
    for invoice in plan.invoices:
        if invoice.commerce == "modern":
            invoice.total_charges = (Decimal(invoice.line_cents) / 100).quantize(CENT)
            paid = invoice.period != newest
            invoice.paid_amount = invoice.total_charges if paid else Decimal("0")


def seed_store(
    db: Database,
    options: SeedOptions,
    now: datetime,
    *,
    fixed_partners: Sequence[dict] = (),  # type: ignore[type-arg]
    invoice_hook: InvoiceHook | None = None,
    reserved_ids: set[str] | None = None,
) -> SeedReport:
    """Generate and store a dataset in one transaction; the store must be empty."""
    plan = make_plan(
        options,
        now,
        fixed_partners=fixed_partners,
        invoice_hook=invoice_hook,
        reserved_ids=reserved_ids,
    )
    report = SeedReport(plan.partners, [], plan.invoices)
    with loading.bulk_transaction(db.engine) as conn:
        report.clients = write_reference(conn, plan.partners, plan.credentials)
        _write_jobs(conn, plan, options, report)
        settle_invoices(plan)
        loading.insert_invoices(conn, [i.row() for i in plan.invoices])
    return report
