"""Run one export job: resolve its scope, reuse or write the parts, publish, succeed.

Order of visibility: parts are staged, then published, then the manifest row and the
operation's ``succeeded`` state are written in one transaction — only while this worker
still holds the lease. A half-written export is never visible.

An export of more than ``partition_rows`` rows is planned here instead: split into id
ranges that any worker leases independently (``exports/parts.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from billport.billing.operations import FAILED_NO_DATA
from billport.billing.scopes import Scope
from billport.exports import blob_tasks
from billport.exports.layout import etag, root_path
from billport.exports.pool import ExportPool
from billport.exports.writer import WrittenPart, write_parts
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import export_rows
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store import parts as part_store
from billport.store.manifests import Manifest
from billport.store.operations import Operation
from billport.usecases.scenarios import applied_scenario

SCHEMA_VERSION = "2"


class LeaseLost(RuntimeError):
    """Another worker took the job over; stop without publishing."""


class Interrupted(RuntimeError):
    """The worker is stopping; the job goes back to the queue."""


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


def resolve_scope(runtime: Runtime, op: Operation) -> Scope | Failure:
    """The rows ``op`` covers, or the ``failedOperation`` the real service would give."""
    month = op.billing_month
    if op.dataset.billed:
        assert op.invoice_id is not None
        with runtime.db.connect() as conn:
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


def build_manifest(
    scope: Scope,
    fingerprint: str,
    root: str,
    created: datetime,
    blobs: list[dict[str, Any]],
    settings: Settings,
) -> Manifest:
    """The manifest of freshly written blobs (``[{name, rows, size}]`` in part order)."""
    return Manifest(
        manifest_id=str(uuid.uuid4()),
        tenant_id=scope.tenant_id,
        dataset=scope.dataset,
        scope_key=scope.key,
        fingerprint=fingerprint,
        etag=etag(scope.key, fingerprint),
        schema_version=SCHEMA_VERSION,
        data_format=settings.data_format,
        partition_type="default",
        root_path=root,
        blobs=[
            {
                "name": b["name"],
                "partitionValue": "default",
                "sizeInBytes": b["size"],
                "itemCount": b["rows"],
            }
            for b in blobs
        ],
        row_count=sum(b["rows"] for b in blobs),
        size_bytes=sum(b["size"] for b in blobs),
        created_at=created,
    )


def forced_failure(runtime: Runtime, op: Operation) -> Failure | None:
    """The ``failedOperation`` a sandbox scenario imposes on this export, if any."""
    scenario = applied_scenario(runtime.db, runtime.settings, op.tenant_id).scenario
    rule = scenario.failure_for(op.dataset.value, op.invoice_id)
    return Failure(rule.code, rule.message) if rule else None


class Heartbeat:
    """Renew a lease every third of its length; notice a stop request or a lost lease.

    Called as ``write_parts``'s ``on_batch`` (with the rows so far); ``force`` renews now.
    ``renew(conn, now, lease_seconds)`` extends the lease, ``False`` once it is lost.
    """

    def __init__(
        self,
        runtime: Runtime,
        should_stop: Callable[[], bool],
        renew: Callable[[sa.Connection, datetime, float], bool],
        operation_id: str,
    ) -> None:
        self.runtime, self.should_stop, self.renew = runtime, should_stop, renew
        self.operation_id = operation_id
        self._last = time.monotonic()

    def __call__(self, _rows: int = 0, force: bool = False) -> None:
        if self.should_stop():
            raise Interrupted("worker stopping")
        lease = self.runtime.settings.lease_seconds
        if not force and time.monotonic() - self._last < lease / 3:
            return
        with self.runtime.db.begin() as conn:
            held = self.renew(conn, self.runtime.clock(), lease)
        if not held:
            raise LeaseLost(self.operation_id)
        self._last = time.monotonic()


class ExportJob:
    """One leased job; ``owner`` is the lease token."""

    def __init__(
        self,
        runtime: Runtime,
        op: Operation,
        owner: str,
        should_stop: Callable[[], bool],
        pool: ExportPool | None = None,
    ) -> None:
        self.runtime, self.op, self.owner, self.should_stop = runtime, op, owner, should_stop
        self.pool = pool  # writes the blobs of a multi-blob export in several processes
        self._beat = Heartbeat(
            runtime,
            should_stop,
            lambda conn, now, lease: op_store.renew_lease(
                conn, op.operation_id, owner=owner, now=now, lease_seconds=lease
            ),
            op.operation_id,
        )

    def run(self) -> None:
        forced = forced_failure(self.runtime, self.op)
        if forced is not None:
            self._fail(forced)
            return
        scope = resolve_scope(self.runtime, self.op)
        if isinstance(scope, Failure):
            self._fail(scope)
            return
        with self.runtime.db.connect() as conn:
            stats = export_rows.scope_stats(conn, scope)
            count, fingerprint = stats.count, stats.fingerprint
            data_format = self.runtime.settings.data_format
            reusable = manifest_store.find_reusable(
                conn, scope.tenant_id, scope.key, fingerprint, data_format
            )
        partition_rows = self.runtime.settings.partition_rows
        if count == 0:
            self._fail(Failure(FAILED_NO_DATA, "No data available for the requested parameters."))
        elif reusable is not None:
            self._succeed(reusable.manifest_id, None)
        elif partition_rows and count > partition_rows:
            self._plan(scope, stats, partition_rows)
        else:
            manifest = self._write(scope, stats)
            try:
                self._succeed(manifest.manifest_id, manifest)
            except LeaseLost:  # nothing committed: the blobs will never be in a manifest
                remove_blobs(runtime=self.runtime, manifest=manifest)
                raise

    def _plan(self, scope: Scope, stats: export_rows.ScopeStats, partition_rows: int) -> None:
        """Split the export into parts of ``partition_rows`` rows and hand it to them."""
        runtime = self.runtime
        with runtime.db.connect() as conn:
            starts = export_rows.blob_starts(conn, scope, stats, partition_rows)
        ranges = list(zip(starts, [*starts[1:], stats.high + 1], strict=True))
        blob_rows = min(runtime.settings.part_rows, partition_rows)
        created = runtime.clock()
        plan = part_store.Plan(
            operation_id=self.op.operation_id,
            root_path=root_path(scope, created),
            fingerprint=stats.fingerprint,
            part_count=len(ranges),
            blob_rows=blob_rows,
            created_at=created,
        )
        with runtime.db.begin() as conn:
            part_store.insert_plan(conn, plan, ranges, -(-partition_rows // blob_rows))
            if not op_store.hand_to_parts(
                conn, self.op.operation_id, owner=self.owner, now=created
            ):
                raise LeaseLost(self.op.operation_id)  # rolls the plan back
            op_store.notify_workers(conn)

    def _write(self, scope: Scope, stats: export_rows.ScopeStats) -> Manifest:
        runtime = self.runtime
        staging = self.op.operation_id
        runtime.blobs.discard_staging(staging)  # leftovers of a crashed earlier lease
        created = runtime.clock()
        root = root_path(scope, created)
        try:
            parts = self._write_parts(scope, stats, staging, root)
            self._beat(0, force=True)  # publish only while the lease is ours
        except BaseException:
            runtime.blobs.discard_staging(staging)
            raise
        for part in parts:
            runtime.blobs.publish(part.staged)
        runtime.blobs.discard_staging(staging)
        blobs = [{"name": p.name, "rows": p.rows, "size": p.size} for p in parts]
        return build_manifest(scope, stats.fingerprint, root, created, blobs, runtime.settings)

    def _write_parts(
        self, scope: Scope, stats: export_rows.ScopeStats, staging: str, root: str
    ) -> list[WrittenPart]:
        runtime = self.runtime
        part_rows = runtime.settings.part_rows
        if self.pool is not None and stats.count > part_rows:
            return self._write_in_pool(self.pool, scope, stats, staging, root)
        with (
            runtime.db.connect() as conn,
            closing(export_rows.stream_chunks(conn, scope, blob_rows=part_rows)) as chunks,
        ):  # closed before the connection goes back: PostgreSQL's COPY must end first
            return write_parts(
                chunks,
                store=runtime.blobs,
                staging_key=staging,
                root=root,
                part_rows=part_rows,
                level=runtime.settings.gzip_level,
                on_batch=self._beat,
            )

    def _write_in_pool(
        self,
        pool: ExportPool,
        scope: Scope,
        stats: export_rows.ScopeStats,
        staging: str,
        root: str,
    ) -> list[WrittenPart]:
        """One task per blob, cut at blob boundaries by walking the scope's index."""
        runtime = self.runtime
        part_rows = runtime.settings.part_rows
        with runtime.db.connect() as conn:
            starts = export_rows.blob_starts(conn, scope, stats, part_rows)
        tasks = blob_tasks.plan_tasks(
            runtime.settings,
            runtime.keys.sas_key,
            scope,
            starts,
            stats.high + 1,
            staging_key=staging,
            root=root,
            blob_rows=part_rows,
        )
        return run_in_pool(pool, tasks, lambda: self._beat(0), self.should_stop)

    def _succeed(self, manifest_id: str, new_manifest: Manifest | None) -> None:
        with self.runtime.db.begin() as conn:
            if new_manifest is not None:
                manifest_store.insert_manifest(conn, new_manifest)
            done = op_store.finish_succeeded(
                conn,
                self.op.operation_id,
                owner=self.owner,
                manifest_id=manifest_id,
                now=self.runtime.clock(),
            )
            if not done:
                raise LeaseLost(self.op.operation_id)  # rolls the manifest back

    def _fail(self, failure: Failure) -> None:
        with self.runtime.db.begin() as conn:
            op_store.finish_failed(
                conn,
                self.op.operation_id,
                owner=self.owner,
                code=failure.code,
                message=failure.message,
                now=self.runtime.clock(),
            )


def run_in_pool(
    pool: ExportPool,
    tasks: list[blob_tasks.BlobTask],
    beat: Callable[[], None],
    should_stop: Callable[[], bool],
) -> list[WrittenPart]:
    """The tasks' blobs; a child killed by the signal that stops the worker is a stop."""
    try:
        return pool.write(tasks, beat)
    except BrokenProcessPool:
        if should_stop():  # SIGTERM to the process group reached the children first
            raise Interrupted("worker stopping") from None
        raise


def remove_blobs(*, runtime: Runtime, manifest: Manifest) -> None:
    """Delete the published blobs of a manifest that was never committed."""
    for blob in manifest.blobs:
        runtime.blobs.delete_prefix(f"{manifest.root_path}/{blob['name']}")
