"""What a sync run exports: the plan from the invoices listed, the state and the options.

A billed dataset of an invoice is exported when the lake has no record of it (``new``) or
when the invoice as listed differs from the one it was exported for (``changed``: a new
total, an amendment, a re-rating). Otherwise it is ``unchanged`` and costs no request.
Unbilled snapshots (``current`` and ``last`` period, per currency) are ``due`` when none was
taken yet or the last one is older than ``unbilled_every`` seconds (0: every run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from billport.billing.datasets import BillingPeriod, Dataset
from billport.lake.invoices import ListedInvoice, to_datetime
from billport.lake.state import SYNCED, LakeState

AGGREGATED = "billedAggregatedUsage"  # beta only; the client may not know it yet
BILLED = (Dataset.BILLED_RECONCILIATION.value, Dataset.BILLED_USAGE.value, AGGREGATED)
UNBILLED = (Dataset.UNBILLED_RECONCILIATION.value, Dataset.UNBILLED_USAGE.value)
ALL_DATASETS = BILLED + UNBILLED
PERIODS = (BillingPeriod.CURRENT, BillingPeriod.LAST)


def known_dataset(name: str) -> Dataset | None:
    """The client's Dataset named ``name``; None when this client does not know it."""
    try:
        return Dataset(name)
    except ValueError:
        return None


@dataclass(frozen=True)
class Job:
    """One export into one partition."""

    dataset: str
    reason: str  # new | changed | due
    invoice: ListedInvoice | None = None  # billed
    period: BillingPeriod | None = None  # unbilled
    currency: str = ""  # unbilled

    @property
    def key(self) -> str:
        """Names the job in the work directory, the progress line and the summary."""
        if self.invoice is not None:
            return f"{self.dataset}/{self.invoice.id}"
        return f"{self.dataset}/{self.period.value if self.period else ''}/{self.currency}"

    @property
    def billed(self) -> bool:
        return self.invoice is not None


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # job keys with nothing to do


def plan_sync(
    invoices: Sequence[ListedInvoice],
    state: LakeState,
    datasets: Sequence[str],
    currencies: Sequence[str],
    now: datetime,
    unbilled_every: float,
) -> Plan:
    plan = Plan()
    for invoice in invoices:
        for name in (d for d in BILLED if d in datasets):
            record = state.record(invoice.id, name)
            key = f"{name}/{invoice.id}"
            if record is None:
                plan.jobs.append(Job(name, "new", invoice))
            elif record.fingerprint != invoice.fingerprint:
                plan.jobs.append(Job(name, "changed", invoice))
            else:
                plan.unchanged.append(key)
    for name in (d for d in UNBILLED if d in datasets):
        for period in PERIODS:
            for currency in currencies:
                job = Job(name, "due", period=period, currency=currency.upper())
                if due(state, job.key, now, unbilled_every):
                    plan.jobs.append(job)
                else:
                    plan.unchanged.append(job.key)
    return plan


def due(state: LakeState, key: str, now: datetime, every: float) -> bool:
    record = state.snapshots.get(key)
    taken = to_datetime(record.synced_at) if record is not None else None
    return taken is None or now - taken >= timedelta(seconds=every)


def default_currencies(invoices: Sequence[ListedInvoice], state: LakeState) -> list[str]:
    """The unbilled snapshots' currencies: those of the invoices the lake holds billed data
    of (legacy-only currencies have no new-commerce unbilled data); on a new lake, all."""
    synced = {
        i.currency
        for i in invoices
        if i.currency and any(r.status == SYNCED for r in state.invoices.get(i.id, {}).values())
    }
    return sorted(synced or {i.currency for i in invoices if i.currency})
