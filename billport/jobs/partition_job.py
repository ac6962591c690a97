"""Run one leased partition of a partitioned export; the last one to finish publishes it.

A partition is an id range of the export's scope (a row of ``export_parts``). It stages
its blobs under its own staging key, records their names, publishes them, then marks
itself done. Marking done locks the operation row first, so finishing partitions take
turns: exactly one of them sees "none left" and, in the same transaction, writes the
manifest and the operation's ``succeeded`` state and drops the plan. Blobs are in a
manifest only once that transaction commits; a partition that loses its lease removes
what it published, and a takeover removes what a crashed worker recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from billport.billing.operations import Status
from billport.billing.scopes import Scope
from billport.exports.manifests import build_manifest
from billport.exports.ranges import BlobRange, exported, remove_blobs
from billport.jobs.context import JobContext
from billport.jobs.export_job import resolve_scope
from billport.jobs.lease import Failure, LeaseLost
from billport.store import export_rows
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store import partitions as partition_store
from billport.store.manifests import ExportBlob
from billport.store.partitions import Partition, Plan

log = logging.getLogger("billport.worker")


class PartitionJob:
    """One leased partition; ``owner`` is its lease token."""

    def __init__(
        self, ctx: JobContext, part: Partition, owner: str, should_stop: Callable[[], bool]
    ) -> None:
        self.ctx, self.part, self.owner, self.should_stop = ctx, part, owner, should_stop
        self._beat = ctx.heartbeat(
            should_stop,
            lambda conn, now, lease: partition_store.renew_partition_lease(
                conn, part, owner=owner, now=now, lease_seconds=lease
            ),
            part.operation_id,
        )

    def run(self) -> None:
        ctx = self.ctx
        with ctx.db.connect() as conn:
            plan = partition_store.get_plan(conn, self.part.operation_id)
            op = op_store.load_operation(conn, self.part.operation_id)
        if plan is None or op is None or op.status is not Status.RUNNING:
            raise LeaseLost(self.part.operation_id)  # the export finished meanwhile
        scope = resolve_scope(ctx.db, op)
        if isinstance(scope, Failure):
            fail_planned(ctx, op.operation_id, scope)
            return
        blobs = self._write(scope, plan)
        try:
            self._finish(scope, plan)
        except BaseException:
            if not self._kept(blobs):
                remove_blobs(ctx.blobs, plan.root_path, blobs)
            raise

    def _kept(self, blobs: list[ExportBlob]) -> bool:
        """Whether our blobs are (or may be) referenced: a commit can fail ambiguously."""
        names = {b.name for b in blobs}
        try:
            with self.ctx.db.connect() as conn:
                op = op_store.load_operation(conn, self.part.operation_id)
                if op is None:
                    return False
                if op.status is Status.SUCCEEDED and op.manifest_id:
                    manifest = manifest_store.get_manifest(conn, op.tenant_id, op.manifest_id)
                    return manifest is not None and any(b.name in names for b in manifest.blobs)
                return any(
                    p.part_index == self.part.part_index
                    and p.status == partition_store.DONE
                    and {b.name for b in p.blobs} == names
                    for p in partition_store.list_partitions(conn, self.part.operation_id)
                )
        except Exception:
            log.exception("cannot tell whether blobs of %s are used", self.part.operation_id)
            return True  # an orphaned blob is better than a manifest pointing at nothing

    def _write(self, scope: Scope, plan: Plan) -> list[ExportBlob]:
        """Stage, record and publish this partition's blobs."""
        ctx, part = self.ctx, self.part
        ctx.blobs.discard_staging(part.staging_key)  # a crashed earlier lease's leftovers
        remove_blobs(ctx.blobs, plan.root_path, part.blobs)
        target = BlobRange(
            scope,
            (part.lo_id, part.hi_id),
            plan.root_path,
            part.staging_key,
            plan.blob_rows,
            part.first_blob,
        )

        def starts() -> list[int]:  # blob boundaries, for export processes
            with ctx.db.connect() as conn:
                return export_rows.partition_starts(
                    conn, scope, part.lo_id, plan.blob_rows, below=part.hi_id
                )

        try:
            written = ctx.stage(
                target, end=part.hi_id, starts=starts, beat=self._beat, should_stop=self.should_stop
            )
        except BaseException:
            ctx.blobs.discard_staging(part.staging_key)
            raise
        blobs = exported(written)
        with ctx.db.begin() as conn:
            recorded = partition_store.record_partition_blobs(
                conn, part, owner=self.owner, blobs=blobs
            )
        if not recorded:
            ctx.blobs.discard_staging(part.staging_key)
            raise LeaseLost(part.operation_id)
        try:  # blobs published before a failure are recorded: a retry removes them
            for w in written:
                ctx.blobs.publish(w.staged)
        finally:
            ctx.blobs.discard_staging(part.staging_key)
        return blobs

    def _finish(self, scope: Scope, plan: Plan) -> None:
        """Mark done; if no partition is left, publish the manifest — in one transaction."""
        ctx, part = self.ctx, self.part
        with ctx.db.begin() as conn:
            if op_store.lock_operation(conn, part.operation_id) is not Status.RUNNING:
                raise LeaseLost(part.operation_id)
            if not partition_store.finish_partition(conn, part, owner=self.owner):
                raise LeaseLost(part.operation_id)
            if partition_store.count_unfinished(conn, part.operation_id):
                return
            partitions = partition_store.list_partitions(conn, part.operation_id)
            manifest = build_manifest(
                scope,
                plan.fingerprint,
                plan.root_path,
                plan.created_at,
                [b for p in partitions for b in p.blobs],
                ctx.settings.data_format,
            )
            manifest_store.insert_manifest(conn, manifest)
            partition_store.delete_plan(conn, part.operation_id)
            if not op_store.finish_succeeded(
                conn,
                part.operation_id,
                owner=op_store.PARTITIONS_OWNER,
                manifest_id=manifest.manifest_id,
                now=ctx.clock(),
            ):
                raise LeaseLost(part.operation_id)
        log.info("export %s published (%d partitions)", part.operation_id, plan.part_count)


def fail_planned(ctx: JobContext, operation_id: str, failure: Failure) -> bool:
    """Fail a partitioned export: the operation turns failed, its partitions stop, blobs go.

    Partitions still running notice at their next heartbeat (their rows are gone) and
    discard their own staging; published blobs of finished partitions are removed here.
    """
    with ctx.db.begin() as conn:
        if op_store.lock_operation(conn, operation_id) is not Status.RUNNING:
            return False
        plan = partition_store.get_plan(conn, operation_id)
        partitions = partition_store.list_partitions(conn, operation_id)
        partition_store.delete_plan(conn, operation_id)
        failed = op_store.finish_failed(
            conn,
            operation_id,
            owner=op_store.PARTITIONS_OWNER,
            code=failure.code,
            message=failure.message,
            now=ctx.clock(),
        )
    if plan is not None:
        now = ctx.clock()
        for part in partitions:
            remove_blobs(ctx.blobs, plan.root_path, part.blobs)
            if part.lease_expires_at is None or part.lease_expires_at < now:
                ctx.blobs.discard_staging(part.staging_key)  # nobody is writing it
    return failed
