"""``LakeSync``: one run of ``billport sync``: list, plan, export in parallel, land, catalog.

Each job exports into the lake's work directory with :class:`~billport.client.ExportRun`
(resumable: a killed run waits on the same operation and downloads only what is missing),
converts the parts into one Parquet file next to them, and moves it onto its partition in
one rename; the state is saved after every landing. Throttling (429/503 with Retry-After) is
the client's :class:`~billport.client.http.HttpClient` retry policy.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from billport.client.graph import GraphClient
from billport.client.partner_center import PartnerCenterClient
from billport.lake import paths
from billport.lake.files import install, remove_partition
from billport.lake.invoices import ListedInvoice, list_invoices, write_invoices
from billport.lake.land import land
from billport.lake.lock import lake_lock
from billport.lake.plan import (
    UNBILLED,
    Job,
    Plan,
    default_currencies,
    plan_sync,
)
from billport.lake.run import Landing, SyncEvents, SyncOptions
from billport.lake.state import LakeState
from billport.lake.throttle import Throttle


@dataclass
class SyncReport:
    invoices: int
    plan: Plan
    landings: list[Landing]
    dry_run: bool
    catalog: Path | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for landing in self.landings if landing.status == status)

    @property
    def failed(self) -> list[Landing]:
        return [landing for landing in self.landings if landing.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


class LakeSync:
    """Keeps the lake at ``lake`` current against one target's two APIs."""

    def __init__(
        self,
        lake: Path,
        partner_center: PartnerCenterClient,
        graph: GraphClient,
        beta: GraphClient | None,
        options: SyncOptions | None = None,
        events: SyncEvents | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.lake = lake
        self.partner_center = partner_center
        self.graph = graph
        self.beta = beta
        self.options = options or SyncOptions()
        self.events = events or SyncEvents()
        self.now = now
        self.state_path = lake / paths.STATE_FILE
        self.state = LakeState.load(self.state_path)
        self._save_lock = threading.Lock()
        self.unavailable = threading.Event()  # the aggregated-usage route answered 404
        self.stopping = threading.Event()  # Ctrl-C: in-flight exports stop at their next step
        throttle = Throttle()
        for client in (partner_center, graph, beta):
            if client is not None:
                throttle.install(client.http.client)

    def save(self) -> None:
        with self._save_lock:
            self.state.save(self.state_path)

    def run(self) -> SyncReport:
        """One sync; a second run on the same lake meanwhile is refused (:class:`LakeBusy`)."""
        with lake_lock(self.lake, self.options.dry_run):
            return self._run()

    def _run(self) -> SyncReport:
        options = self.options
        invoices = list_invoices(self.partner_center, options.since)
        currencies = list(options.currencies) or default_currencies(invoices, self.state)
        plan = plan_sync(
            invoices, self.state, options.datasets, currencies, self.now(), options.unbilled_every
        )
        self.events.planned(plan)
        report = SyncReport(len(invoices), plan, [], options.dry_run)
        if options.dry_run:
            return report
        self.lake.mkdir(parents=True, exist_ok=True)
        self._write_invoices(invoices)
        report.landings = self._export_all(plan.jobs)
        self._drop_stale_snapshots()
        self.state.last_run = self._last_run(report)
        self.save()
        if options.catalog:
            report.catalog = self._catalog(report)
        return report

    def _catalog(self, report: SyncReport) -> Path | None:
        """The DuckDB catalog, unless duckdb (the ``analytics`` extra) is not installed: the
        Parquet lake is complete without it."""
        from billport.outputs.errors import MissingAnalytics, require

        try:
            require("duckdb", "duckdb")
        except MissingAnalytics as exc:
            report.notes.append(f"no {paths.CATALOG_FILE}: {exc.message}")
            return None
        from billport.lake.catalog import build_catalog

        return build_catalog(self.lake)

    def _export_all(self, jobs: list[Job]) -> list[Landing]:
        """Every job, ``exports`` at a time. On Ctrl-C no further export starts; those in
        flight stop at their next step and are resumed by the next run."""
        pool = ThreadPoolExecutor(max(1, self.options.exports), thread_name_prefix="billport-sync")
        try:
            return list(pool.map(self._job, jobs))
        except BaseException:
            self.stopping.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _job(self, job: Job) -> Landing:
        self.events.started(job)
        landing = land(self, job)
        self.events.finished(landing)
        return landing

    def _write_invoices(self, invoices: list[ListedInvoice]) -> None:
        staging = paths.work_dir(self.lake) / "staging" / f"invoices-{uuid.uuid4().hex}.parquet"
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_invoices(invoices, staging)
            install(staging, paths.invoices_file(self.lake))
        finally:
            staging.unlink(missing_ok=True)

    def _drop_stale_snapshots(self) -> None:
        """Unbilled partitions no snapshot points at any more (a month that got invoiced)."""
        kept = {self.lake / r.path for r in self.state.snapshots.values() if r.path}
        for name in UNBILLED:
            directory = paths.dataset_dir(self.lake, name)
            for part in directory.glob(f"billing_month=*/currency=*/{paths.PART_FILE}"):
                if part not in kept:
                    remove_partition(self.lake, part)

    def _last_run(self, report: SyncReport) -> dict[str, object]:
        return {
            "finishedAt": self.now().isoformat(),
            "invoices": report.invoices,
            **{s: report.count(s) for s in ("new", "changed", "unchanged", "replaced", "failed")},
            "untouched": len(report.plan.unchanged),
        }
