"""Run one export job: resolve its scope, reuse or write the blobs, publish, succeed.

Order of visibility: blobs are staged, then published, then the manifest row and the
operation's ``succeeded`` state are written in one transaction — only while this worker
still holds the lease. A half-written export is never visible.

An export of more than ``partition_rows`` rows is planned here instead: split into
partitions (id ranges) that any worker leases independently (``jobs/partition_job.py``).
An aggregated export (billed aggregated usage) is always written by its worker alone: its
rows are computed from its source rows' groups, which id ranges do not separate.
"""

from __future__ import annotations

from collections.abc import Callable

from billport.billing.operations import FAILED_NO_DATA
from billport.billing.scopes import Scope
from billport.exports.layout import root_path
from billport.exports.manifests import build_manifest
from billport.exports.ranges import BlobRange, exported, remove_blobs
from billport.jobs.context import JobContext
from billport.jobs.lease import Failure, LeaseLost
from billport.store import export_rows
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store import partitions as partition_store
from billport.store.db import Database
from billport.store.manifests import Manifest
from billport.store.operations import Operation


def resolve_scope(db: Database, op: Operation) -> Scope | Failure:
    """The rows ``op`` covers, or the ``failedOperation`` the real service would give."""
    month = op.billing_month
    if op.dataset.billed:
        assert op.invoice_id is not None
        with db.connect() as conn:
            found = export_rows.invoice_commerce(conn, op.tenant_id, op.invoice_id)
        if found is None:
            return Failure(FAILED_NO_DATA, f"No data available for invoice {op.invoice_id}.")
        commerce, month = found
        if commerce != "modern":
            return Failure(
                FAILED_NO_DATA,
                f"No reconciliation data available for invoice {op.invoice_id}: the billing "
                "export covers new-commerce invoices only; use the Partner Center v1 "
                "line-item API for legacy invoices.",
            )
    assert month is not None
    return Scope(op.tenant_id, op.dataset, op.attribute_set, month, op.invoice_id, op.currency)


def forced_failure(ctx: JobContext, op: Operation) -> Failure | None:
    """The ``failedOperation`` a sandbox scenario imposes on this export, if any."""
    rule = ctx.scenario_for(op.tenant_id).failure_for(op.dataset.value, op.invoice_id)
    return Failure(rule.code, rule.message) if rule else None


class ExportJob:
    """One leased operation; ``owner`` is the lease token."""

    def __init__(
        self, ctx: JobContext, op: Operation, owner: str, should_stop: Callable[[], bool]
    ) -> None:
        self.ctx, self.op, self.owner, self.should_stop = ctx, op, owner, should_stop
        self._beat = ctx.heartbeat(
            should_stop,
            lambda conn, now, lease: op_store.renew_lease(
                conn, op.operation_id, owner=owner, now=now, lease_seconds=lease
            ),
            op.operation_id,
        )

    def run(self) -> None:
        ctx = self.ctx
        forced = forced_failure(ctx, self.op)
        if forced is not None:
            self._fail(forced)
            return
        scope = resolve_scope(ctx.db, self.op)
        if isinstance(scope, Failure):
            self._fail(scope)
            return
        with ctx.db.connect() as conn:
            stats = export_rows.scope_stats(conn, scope)
            reusable = manifest_store.find_reusable(
                conn, scope.tenant_id, scope.key, stats.fingerprint, ctx.settings.data_format
            )
        partition_rows = ctx.settings.partition_rows
        if stats.count == 0:
            self._fail(Failure(FAILED_NO_DATA, "No data available for the requested parameters."))
        elif reusable is not None:
            self._succeed(reusable.manifest_id, None)
        elif partition_rows and stats.count > partition_rows and not scope.dataset.aggregated:
            self._plan(scope, stats, partition_rows)
        else:
            manifest = self._write(scope, stats)
            try:
                self._succeed(manifest.manifest_id, manifest)
            except LeaseLost:  # nothing committed: the blobs will never be in a manifest
                remove_blobs(ctx.blobs, manifest.root_path, manifest.blobs)
                raise

    def _plan(self, scope: Scope, stats: export_rows.ScopeStats, partition_rows: int) -> None:
        """Split the export into partitions of ``partition_rows`` rows and hand it to them."""
        ctx = self.ctx
        with ctx.db.connect() as conn:
            starts = export_rows.blob_starts(conn, scope, stats, partition_rows)
        ranges = list(zip(starts, [*starts[1:], stats.high + 1], strict=True))
        blob_rows = min(ctx.settings.blob_rows, partition_rows)
        created = ctx.clock()
        plan = partition_store.Plan(
            operation_id=self.op.operation_id,
            root_path=root_path(scope, created),
            fingerprint=stats.fingerprint,
            part_count=len(ranges),
            blob_rows=blob_rows,
            created_at=created,
        )
        with ctx.db.begin() as conn:
            partition_store.insert_plan(conn, plan, ranges, -(-partition_rows // blob_rows))
            if not op_store.hand_to_partitions(
                conn, self.op.operation_id, owner=self.owner, now=created
            ):
                raise LeaseLost(self.op.operation_id)  # rolls the plan back
            op_store.notify_workers(conn)

    def _write(self, scope: Scope, stats: export_rows.ScopeStats) -> Manifest:
        ctx = self.ctx
        staging = self.op.operation_id
        ctx.blobs.discard_staging(staging)  # leftovers of a crashed earlier lease
        created = ctx.clock()
        root = root_path(scope, created)
        blob_rows = ctx.settings.blob_rows
        target = BlobRange(scope, None, root, staging, blob_rows)

        def starts() -> list[int]:  # blob boundaries, for export processes
            if stats.count <= blob_rows or scope.dataset.aggregated:
                return [stats.low]  # one task: aggregated rows have no ids to split by
            with ctx.db.connect() as conn:
                return export_rows.blob_starts(conn, scope, stats, blob_rows)

        try:
            written = ctx.stage(
                target,
                end=stats.high + 1,
                starts=starts,
                beat=self._beat,
                should_stop=self.should_stop,
            )
            self._beat(0, force=True)  # publish only while the lease is ours
        except BaseException:
            ctx.blobs.discard_staging(staging)
            raise
        try:
            for blob in written:
                ctx.blobs.publish(blob.staged)
        except BaseException:  # none of them will be in a manifest: leave nothing behind
            remove_blobs(ctx.blobs, root, exported(written))
            ctx.blobs.discard_staging(staging)
            raise
        ctx.blobs.discard_staging(staging)
        return build_manifest(
            scope, stats.fingerprint, root, created, exported(written), ctx.settings.data_format
        )

    def _succeed(self, manifest_id: str, new_manifest: Manifest | None) -> None:
        with self.ctx.db.begin() as conn:
            if new_manifest is not None:
                manifest_store.insert_manifest(conn, new_manifest)
            done = op_store.finish_succeeded(
                conn,
                self.op.operation_id,
                owner=self.owner,
                manifest_id=manifest_id,
                now=self.ctx.clock(),
            )
            if not done:
                raise LeaseLost(self.op.operation_id)  # rolls the manifest back

    def _fail(self, failure: Failure) -> None:
        with self.ctx.db.begin() as conn:
            op_store.finish_failed(
                conn,
                self.op.operation_id,
                owner=self.owner,
                code=failure.code,
                message=failure.message,
                now=self.ctx.clock(),
            )
