"""``billport seed``: a whole synthetic store in one transaction, streamed in batches.

The plan (partners, invoices, templates, jobs and each job's seed) comes from one
``random.Random``; a job's rows come from counter-based draws on its seed
(:mod:`billport.seed.draws`), so SQLite can render them itself and Python renders the same
bytes elsewhere."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.errors import InvalidRequest
from billport.seed import catalog
from billport.seed.forked import can_fork, forked_batches
from billport.seed.lines import (
    Lines,
    Pattern,
    Row,
    Scope,
    compile_patterns,
    python_rows,
    write_python_rows,
)
from billport.seed.pools import ReconTemplate, UsageTemplate, partner_pools
from billport.seed.sqlite_lines import SqliteLines
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
Pools = dict[str, tuple[list[ReconTemplate], list[UsageTemplate]]]  # by tenant
Patterns = dict[tuple[str, str, bool], tuple[Pattern, ...]]  # see compile_pools


@dataclass(frozen=True)
class SeedOptions:
    seed: int = 1
    line_items: int = 100_000
    tenants: int = 3
    customers: int = 25  # per tenant
    months: int = 12  # invoiced months before the open one
    batch_size: int = 20_000
    parallel: bool = True  # render in a forked child while this process writes (not SQLite)
    render_in_sqlite: bool = True  # on SQLite, INSERT ... SELECT renders rows (seed.sqlite_lines)


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
                "The store already holds data: reset it first (billport seed --reset, or "
                '"reset": true in POST /_billport/seed) to replace it, or name an invoice '
                '(--invoice ID, or "invoice") to add line items to it.'
            )


CREDENTIAL_DRAWS = (128, 256)  # bits per partner the seed once spent on its dev client


def client_for(rng: random.Random) -> dict[str, str]:
    """A new client id and secret from the operating system's CSPRNG, never from the seed.

    Every store gets its own credentials, so a ``--demo`` store or one seeded with the
    default seed does not share a token-minting secret with every other install. ``rng``
    still advances by the bits the credentials were once drawn from, so everything drawn
    after them (invoices, line items) stays byte for byte what a seed always gave.
    """
    for bits in CREDENTIAL_DRAWS:
        rng.getrandbits(bits)
    return {"client_id": str(uuid.uuid4()), "secret": secrets.token_hex(32)}


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
    seed: int  # of the job's row draws (billport.seed.draws)


def _jobs(
    rng: random.Random,
    partners: Sequence[Partner],
    invoices: Sequence[Invoice],
    now: datetime,
    total: int,
) -> list[_Job]:
    """Every scope that gets line items, with its share of ``total`` and its seed."""
    counts = dataset_counts(total)
    modern = [i for i in invoices if i.commerce == "modern"]
    jobs: list[_Job] = []
    for dataset in (Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE):
        for inv, n in zip(modern, split_counts(counts[dataset], len(modern)), strict=True):
            scope = Scope(
                inv.tenant_id, dataset, inv.period, inv.currency, inv.invoice_id, inv.period.end
            )
            jobs.append(_Job(scope, n, inv, rng.getrandbits(64)))
    current = Period.of(now)
    today = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
    open_scopes = [(p, period, cur) for p in partners for period in (current.shifted(-1), current)
                   for cur in p.currencies]  # fmt: skip
    for dataset in (Dataset.UNBILLED_RECONCILIATION, Dataset.UNBILLED_USAGE):
        for (p, period, cur), n in zip(
            open_scopes, split_counts(counts[dataset], len(open_scopes)), strict=True
        ):
            last = min(period.end, today)
            scope = Scope(p.tenant_id, dataset, period, cur, None, last)
            jobs.append(_Job(scope, n, None, rng.getrandbits(64)))
    return jobs


def compile_pools(pools: Pools) -> Patterns:
    """Every partner's templates compiled, by tenant, currency and whether usage."""
    out: Patterns = {}
    for tenant, (recon, usage) in pools.items():
        for currency in {t.customer.currency for t in recon} | {t.customer.currency for t in usage}:
            out[(tenant, currency, False)] = compile_patterns(
                [t for t in recon if t.customer.currency == currency]
            )
            out[(tenant, currency, True)] = compile_patterns(
                [t for t in usage if t.customer.currency == currency]
            )
    return out


def job_lines(job: _Job, patterns: Patterns) -> Lines:
    scope = job.scope
    key = (scope.tenant_id, scope.currency, scope.dataset.usage)
    return Lines(scope, patterns.get(key, ()), job.seed, job.count)


def _account(job: _Job, total: int, counted: dict[Dataset, int]) -> None:
    """Billed reconciliation totals (cents) land on their invoice; rows are counted."""
    if job.invoice is not None and not job.scope.dataset.usage:
        job.invoice.line_cents += total
    counted[job.scope.dataset] = counted.get(job.scope.dataset, 0) + job.count


def job_batches(
    jobs: Sequence[_Job],
    patterns: Patterns,
    batch_size: int,
    counted: dict[Dataset, int],
) -> Iterator[list[Row]]:
    """Rows of every job in order, rendered in Python."""
    for job in jobs:
        sums = [0]
        yield from python_rows(job_lines(job, patterns), batch_size, sums)
        _account(job, sums[0], counted)


@contextmanager
def line_writer(
    conn: sa.Connection, batch_size: int, in_sqlite: bool = True
) -> Iterator[Callable[[Lines], int]]:
    """A function that stores a job's rows and returns the sum of their ``Total`` in cents
    (reconciliation; 0 for usage): on SQLite (unless ``in_sqlite`` is false) SQLite renders
    them, elsewhere Python does."""
    if in_sqlite and conn.dialect.name == "sqlite":
        with SqliteLines(conn) as sqlite_lines:
            yield sqlite_lines.insert
        return

    yield lambda lines: write_python_rows(conn, lines, batch_size)


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


OnRows = Callable[[int], None]  # line items stored so far (a progress display)


def _write_jobs(
    conn: sa.Connection,
    plan: Plan,
    options: SeedOptions,
    report: SeedReport,
    on_rows: OnRows | None = None,
) -> None:
    """Render and insert every job's rows; invoice sums and counts end up in ``report``;
    ``on_rows`` hears the running count after each job (or batch, when forked).

    SQLite renders the rows itself (``--parallel`` does not apply: there is no Python
    rendering to move to another process); elsewhere Python renders them, in a forked child
    with ``parallel``."""

    in_sqlite = options.render_in_sqlite and conn.dialect.name == "sqlite"
    if in_sqlite or not (options.parallel and can_fork()):
        done = 0
        with line_writer(conn, options.batch_size, in_sqlite) as write:
            for job in plan.jobs:
                _account(job, write(job_lines(job, plan.patterns)), report.line_items)
                done += job.count
                if on_rows is not None:
                    on_rows(done)
        return
    # Smaller batches in parallel mode keep the shared-memory slots small and the pipeline full.
    size = min(options.batch_size, 5_000)

    def produce() -> Iterator[list[Row]]:
        return plan.batches(size, report.line_items)

    def summarise() -> tuple[dict[tuple[str, str], int], dict[Dataset, int]]:
        sums = {
            (j.invoice.tenant_id, j.invoice.invoice_id): j.invoice.line_cents
            for j in plan.jobs
            if j.invoice is not None
        }
        return sums, report.line_items

    result: list[tuple[dict[tuple[str, str], int], dict[Dataset, int]]] = []
    batches = forked_batches(produce, summarise, result)
    loading.write_line_items(conn, batches if on_rows is None else _counted(batches, on_rows))
    sums, counted = result[0]
    report.line_items.update(counted)
    for job in plan.jobs:
        if job.invoice is not None:
            job.invoice.line_cents = sums[(job.invoice.tenant_id, job.invoice.invoice_id)]


def _counted(batches: Iterator[list[Row]], on_rows: OnRows) -> Iterator[list[Row]]:
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        on_rows(done)


@dataclass
class Plan:
    """Everything decided before the first line item: entities, templates and jobs."""

    rng: random.Random
    partners: list[Partner]
    credentials: list[dict[str, str]]  # client_id/secret per partner
    periods: list[Period]
    invoices: list[Invoice]
    pools: Pools
    patterns: Patterns
    jobs: list[_Job]

    def batches(self, batch_size: int, counted: dict[Dataset, int]) -> Iterator[list[Row]]:
        """Every line item row in storage order, rendered in Python (adds the billed
        reconciliation totals to the invoices: iterate once)."""
        return job_batches(self.jobs, self.patterns, batch_size, counted)


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
    credentials = [client_for(rng) for _ in partners]
    periods = invoiced_periods(now, options.months)
    numbers = InvoiceNumbers(rng, reserved_ids)
    invoices: list[Invoice] = []
    for partner in partners:
        own = make_invoices(rng, partner, periods, numbers)
        invoices.extend(invoice_hook(partner, own) if invoice_hook else own)
    since = periods[0].start if periods else Period.of(now).start
    pools = {p.tenant_id: partner_pools(rng, p, since) for p in partners}
    jobs = _jobs(rng, partners, invoices, now, options.line_items)
    return Plan(rng, partners, credentials, periods, invoices, pools, compile_pools(pools), jobs)


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
    on_rows: OnRows | None = None,
) -> SeedReport:
    """Generate and store a dataset in one transaction; the store must be empty.
    ``on_rows(line items stored so far)`` is called as the line items are written."""
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
        _write_jobs(conn, plan, options, report, on_rows)
        settle_invoices(plan)
        loading.insert_invoices(conn, [i.row() for i in plan.invoices])
    return report
