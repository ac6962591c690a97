"""Use cases of the Graph export API: request an export, read operations and manifests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from billport.billing.datasets import BillingPeriod, Dataset
from billport.billing.operations import Status, parse_export_request
from billport.clock import Clock, month_key, previous_month_key
from billport.errors import NotFound
from billport.sandbox.progression import revealed
from billport.sandbox.scenario import Progression
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store.db import Database
from billport.store.manifests import Manifest
from billport.store.operations import Operation


def request_export(
    db: Database, clock: Clock, tenant_id: str, dataset: Dataset, body: Any
) -> Operation:
    """Validate the body and queue the export; the operation row is the job."""
    request = parse_export_request(dataset, body)
    now = clock()
    month = None
    if request.billing_period is not None:
        month = month_key(now)
        if request.billing_period is BillingPeriod.LAST:
            month = previous_month_key(month)
    op = Operation(
        operation_id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        dataset=dataset,
        attribute_set=request.attribute_set,
        invoice_id=request.invoice_id,
        billing_period=request.billing_period.value if request.billing_period else None,
        billing_month=month,
        currency=request.currency,
        status=Status.NOT_STARTED,
        error_code=None,
        error_message=None,
        manifest_id=None,
        created_at=now,
        last_action_at=now,
        lease_owner=None,
        lease_expires_at=None,
        attempts=0,
        poll_count=0,
    )
    with db.begin() as conn:
        op_store.insert_operation(conn, op)
        op_store.notify_workers(conn)  # delivered on commit: a woken worker finds the row
    return op


@dataclass(frozen=True)
class OperationView:
    operation: Operation
    manifest: Manifest | None


def read_operation(
    db: Database,
    tenant_id: str,
    operation_id: str,
    *,
    progression: Progression | None = None,
    now: datetime | None = None,
) -> OperationView:
    """The operation (and its manifest once succeeded); another tenant's is not found.

    With a sandbox ``progression``, a finished operation reads as ``running`` until the
    scenario reveals it (n-th poll, or ``created + seconds`` at ``now``). Only ``polls:n``
    writes: it counts this read with one atomic UPDATE.
    """
    counting = progression is not None and progression.kind == "polls"
    with db.begin() if counting else db.connect() as conn:
        polls = op_store.count_poll(conn, tenant_id, operation_id) if counting else 0
        op = op_store.get_operation(conn, tenant_id, operation_id)
        if op is None:
            raise NotFound(f"Operation '{operation_id}' was not found.")
        if progression is not None and op.status.terminal:
            shown = revealed(
                progression, created_at=op.created_at, now=now or op.created_at, polls=polls or 0
            )
            if not shown:
                op = replace(
                    op, status=Status.RUNNING, manifest_id=None, error_code=None, error_message=None
                )
        manifest = None
        if op.status is Status.SUCCEEDED and op.manifest_id:
            manifest = manifest_store.get_manifest(conn, tenant_id, op.manifest_id)
    return OperationView(op, manifest)


def read_manifest(db: Database, tenant_id: str, manifest_id: str) -> Manifest:
    with db.connect() as conn:
        manifest = manifest_store.get_manifest(conn, tenant_id, manifest_id)
    if manifest is None:
        raise NotFound(f"Manifest '{manifest_id}' was not found.")
    return manifest
