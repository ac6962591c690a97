"""Run one leased part of a partitioned export; the last part to finish publishes it.

A part stages its blobs under its own staging key, records their names, publishes them,
then marks itself done. Marking done locks the operation row first, so finishing parts
take turns: exactly one of them sees "no part left" and, in the same transaction, writes
the manifest and the operation's ``succeeded`` state and drops the plan. Blobs are in a
manifest only once that transaction commits; a part that loses its lease removes what it
published, and a takeover removes what a crashed worker recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing

from billport.billing.operations import Status
from billport.billing.scopes import Scope
from billport.exports import blob_tasks
from billport.exports.pool import ExportPool
from billport.exports.runner import (
    Failure,
    Heartbeat,
    LeaseLost,
    build_manifest,
    resolve_scope,
    run_in_pool,
)
from billport.exports.writer import WrittenPart, write_parts
from billport.runtime import Runtime
from billport.store import export_rows
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store import parts as part_store
from billport.store.parts import Part, Plan

log = logging.getLogger("billport.worker")


class PartJob:
    """One leased part; ``owner`` is its lease token."""

    def __init__(
        self,
        runtime: Runtime,
        part: Part,
        owner: str,
        should_stop: Callable[[], bool],
        pool: ExportPool | None = None,
    ) -> None:
        self.runtime, self.part, self.owner, self.should_stop = runtime, part, owner, should_stop
        self.pool = pool  # writes the part's blobs in several processes when it has several
        self._beat = Heartbeat(
            runtime,
            should_stop,
            lambda conn, now, lease: part_store.renew_part_lease(
                conn, part, owner=owner, now=now, lease_seconds=lease
            ),
            part.operation_id,
        )

    def run(self) -> None:
        with self.runtime.db.connect() as conn:
            plan = part_store.get_plan(conn, self.part.operation_id)
            op = op_store.load_operation(conn, self.part.operation_id)
        if plan is None or op is None or op.status is not Status.RUNNING:
            raise LeaseLost(self.part.operation_id)  # the export finished meanwhile
        scope = resolve_scope(self.runtime, op)
        if isinstance(scope, Failure):
            fail_planned(self.runtime, op.operation_id, scope)
            return
        blobs = self._write(scope, plan)
        try:
            self._finish(scope, plan)
        except BaseException:
            if not self._kept(blobs):
                remove_published(self.runtime, plan.root_path, blobs)
            raise

    def _kept(self, blobs: list[dict[str, object]]) -> bool:
        """Whether our blobs are (or may be) referenced: a commit can fail ambiguously."""
        names = {b["name"] for b in blobs}
        try:
            with self.runtime.db.connect() as conn:
                op = op_store.load_operation(conn, self.part.operation_id)
                if op is None:
                    return False
                if op.status is Status.SUCCEEDED and op.manifest_id:
                    manifest = manifest_store.get_manifest(conn, op.tenant_id, op.manifest_id)
                    return manifest is not None and any(b["name"] in names for b in manifest.blobs)
                return any(
                    p.part_index == self.part.part_index
                    and p.status == part_store.DONE
                    and {b["name"] for b in p.blobs} == names
                    for p in part_store.list_parts(conn, self.part.operation_id)
                )
        except Exception:
            log.exception("cannot tell whether part blobs of %s are used", self.part.operation_id)
            return True  # an orphaned blob is better than a manifest pointing at nothing

    def _write(self, scope: Scope, plan: Plan) -> list[dict[str, object]]:
        """Stage, record and publish this part's blobs."""
        runtime, part = self.runtime, self.part
        runtime.blobs.discard_staging(part.staging_key)  # a crashed earlier lease's leftovers
        remove_published(runtime, plan.root_path, part.blobs)
        try:
            written = self._write_blobs(scope, plan)
        except BaseException:
            runtime.blobs.discard_staging(part.staging_key)
            raise
        blobs: list[dict[str, object]] = [
            {"name": w.name, "rows": w.rows, "size": w.size} for w in written
        ]
        with runtime.db.begin() as conn:
            recorded = part_store.record_part_blobs(conn, part, owner=self.owner, blobs=blobs)
        if not recorded:
            runtime.blobs.discard_staging(part.staging_key)
            raise LeaseLost(part.operation_id)
        for w in written:
            runtime.blobs.publish(w.staged)
        runtime.blobs.discard_staging(part.staging_key)
        return blobs

    def _write_blobs(self, scope: Scope, plan: Plan) -> list[WrittenPart]:
        """Stage the part's blobs: in the export processes when it has more than one."""
        runtime, part = self.runtime, self.part
        if self.pool is not None:
            with runtime.db.connect() as conn:
                starts = export_rows.partition_starts(
                    conn, scope, part.lo_id, plan.blob_rows, below=part.hi_id
                )
            if len(starts) > 1:
                tasks = blob_tasks.plan_tasks(
                    runtime.settings,
                    runtime.keys.sas_key,
                    scope,
                    starts,
                    part.hi_id,
                    staging_key=part.staging_key,
                    root=plan.root_path,
                    blob_rows=plan.blob_rows,
                    first_blob=part.first_blob,
                )
                return run_in_pool(self.pool, tasks, lambda: self._beat(0), self.should_stop)
        ids = (part.lo_id, part.hi_id)
        with (
            runtime.db.connect() as conn,
            closing(
                export_rows.stream_chunks(conn, scope, blob_rows=plan.blob_rows, ids=ids)
            ) as chunks,
        ):  # closed before the connection goes back: PostgreSQL's COPY must end first
            return write_parts(
                chunks,
                store=runtime.blobs,
                staging_key=part.staging_key,
                root=plan.root_path,
                part_rows=plan.blob_rows,
                level=runtime.settings.gzip_level,
                on_batch=self._beat,
                first_part=part.first_blob,
            )

    def _finish(self, scope: Scope, plan: Plan) -> None:
        """Mark done; if no part is left, publish the manifest — all in one transaction."""
        runtime, part = self.runtime, self.part
        with runtime.db.begin() as conn:
            if op_store.lock_operation(conn, part.operation_id) is not Status.RUNNING:
                raise LeaseLost(part.operation_id)
            if not part_store.finish_part(conn, part, owner=self.owner):
                raise LeaseLost(part.operation_id)
            if part_store.count_unfinished(conn, part.operation_id):
                return
            blobs = [b for p in part_store.list_parts(conn, part.operation_id) for b in p.blobs]
            manifest = build_manifest(
                scope, plan.fingerprint, plan.root_path, plan.created_at, blobs, runtime.settings
            )
            manifest_store.insert_manifest(conn, manifest)
            part_store.delete_plan(conn, part.operation_id)
            if not op_store.finish_succeeded(
                conn,
                part.operation_id,
                owner=op_store.PARTS_OWNER,
                manifest_id=manifest.manifest_id,
                now=runtime.clock(),
            ):
                raise LeaseLost(part.operation_id)
        log.info("export %s published (%d parts)", part.operation_id, plan.part_count)


def remove_published(runtime: Runtime, root: str, blobs: list[dict[str, object]]) -> None:
    """Delete blobs published for a part that never made it into a manifest."""
    for blob in blobs:
        runtime.blobs.delete_prefix(f"{root}/{blob['name']}")


def fail_planned(runtime: Runtime, operation_id: str, failure: Failure) -> bool:
    """Fail a partitioned export: the operation turns failed, its parts stop, blobs go.

    Parts still running notice at their next heartbeat (their rows are gone) and discard
    their own staging; published blobs of finished parts are removed here.
    """
    with runtime.db.begin() as conn:
        if op_store.lock_operation(conn, operation_id) is not Status.RUNNING:
            return False
        plan = part_store.get_plan(conn, operation_id)
        parts = part_store.list_parts(conn, operation_id)
        part_store.delete_plan(conn, operation_id)
        failed = op_store.finish_failed(
            conn,
            operation_id,
            owner=op_store.PARTS_OWNER,
            code=failure.code,
            message=failure.message,
            now=runtime.clock(),
        )
    if plan is not None:
        now = runtime.clock()
        for part in parts:
            remove_published(runtime, plan.root_path, part.blobs)
            if part.lease_expires_at is None or part.lease_expires_at < now:
                runtime.blobs.discard_staging(part.staging_key)  # nobody is writing it
    return failed
