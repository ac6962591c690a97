"""Operations: the Graph long-running operation rows, which are also the export jobs.

Leasing: PostgreSQL picks with ``FOR UPDATE SKIP LOCKED``; SQLite (one writer at a time)
uses a conditional update. Either way a lease is a unique token in ``lease_owner`` with an
expiry; a worker that stops heartbeating loses the job to the next one that asks.

A partitioned export hands its operation to its parts (``PARTITIONS_OWNER``, no expiry): it is
never leased again, and the last part (or the one that fails it) finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.store import wakeups
from billport.store.tables import operations

ops = operations.c
PARTITIONS_OWNER = "(export parts)"
WAKE_CHANNEL = "billport_jobs"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    tenant_id: str
    dataset: Dataset
    attribute_set: AttributeSet
    invoice_id: str | None
    billing_period: str | None
    billing_month: int | None
    currency: str | None
    status: Status
    error_code: str | None
    error_message: str | None
    manifest_id: str | None
    created_at: datetime
    last_action_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    poll_count: int


def _operation(row: sa.Row) -> Operation:  # type: ignore[type-arg]
    return Operation(
        operation_id=row.operation_id,
        tenant_id=row.tenant_id,
        dataset=Dataset.from_code(row.dataset),
        attribute_set=AttributeSet(row.attribute_set),
        invoice_id=row.invoice_id,
        billing_period=row.billing_period,
        billing_month=row.billing_month,
        currency=row.currency,
        status=Status(row.status),
        error_code=row.error_code,
        error_message=row.error_message,
        manifest_id=row.manifest_id,
        created_at=row.created_at,
        last_action_at=row.last_action_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        poll_count=row.poll_count,
    )


def insert_operation(conn: sa.Connection, op: Operation) -> None:
    """Create an operation (and so its job) in the caller's transaction."""
    conn.execute(
        operations.insert().values(
            operation_id=op.operation_id,
            tenant_id=op.tenant_id,
            dataset=op.dataset.code,
            attribute_set=op.attribute_set.value,
            invoice_id=op.invoice_id,
            billing_period=op.billing_period,
            billing_month=op.billing_month,
            currency=op.currency,
            status=op.status.value,
            created_at=op.created_at,
            last_action_at=op.last_action_at,
        )
    )


# Built once: every poll runs it, and a prebuilt statement skips SQLAlchemy's cache-key work.
_ONE_OPERATION = sa.select(operations).where(
    ops.operation_id == sa.bindparam("operation_id"), ops.tenant_id == sa.bindparam("tenant")
)


def get_operation(conn: sa.Connection, tenant_id: str, operation_id: str) -> Operation | None:
    """One operation of one tenant."""
    params = {"operation_id": operation_id, "tenant": tenant_id}
    row = conn.execute(_ONE_OPERATION, params).first()
    return _operation(row) if row else None


def load_operation(conn: sa.Connection, operation_id: str) -> Operation | None:
    """An operation by id alone: for workers, which serve every tenant."""
    row = conn.execute(sa.select(operations).where(ops.operation_id == operation_id)).first()
    return _operation(row) if row else None


def lock_operation(conn: sa.Connection, operation_id: str) -> Status | None:
    """Row-lock an operation (PostgreSQL) so finishing parts take turns; its status."""
    query = sa.select(ops.status).where(ops.operation_id == operation_id).with_for_update()
    status = conn.execute(query).scalar()
    return Status(status) if status is not None else None


def notify_workers(conn: sa.Connection) -> None:
    """Wake idle workers once this transaction commits: PostgreSQL ``NOTIFY`` (delivered on
    commit), or on SQLite a datagram to each waiting worker (``store/wakeups.py``), which
    ``Database.begin`` sends after the commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"NOTIFY {WAKE_CHANNEL}"))
    else:
        conn.info[wakeups.AFTER_COMMIT] = True


def count_poll(conn: sa.Connection, tenant_id: str, operation_id: str) -> int | None:
    """Add one to the operation's poll counter atomically; the new count, or None if absent."""
    statement = (
        operations.update()
        .where(ops.operation_id == operation_id, ops.tenant_id == tenant_id)
        .values(poll_count=ops.poll_count + 1)
        .returning(ops.poll_count)
    )
    return conn.execute(statement).scalar()


def _leasable(now: datetime) -> sa.ColumnElement[bool]:
    expired = sa.and_(ops.status == Status.RUNNING.value, ops.lease_expires_at < now)
    return sa.or_(ops.status == Status.NOT_STARTED.value, expired)


# Fair leasing: the next job is the oldest of the tenant that was served least in this
# window, so one tenant's backlog of hundreds of exports does not hold up another's.
FAIR_WINDOW = timedelta(seconds=60)


def _served_lately(now: datetime) -> sa.Subquery:
    """Per tenant, how many of its jobs were started or finished within ``FAIR_WINDOW``."""
    return (
        sa.select(ops.tenant_id, sa.func.count().label("served"))
        .where(ops.last_action_at > now - FAIR_WINDOW, ops.status != Status.NOT_STARTED.value)
        .group_by(ops.tenant_id)
        .subquery("served_lately")
    )


def lease_next(
    conn: sa.Connection, *, owner: str, now: datetime, lease_seconds: float
) -> Operation | None:
    """Take the next waiting (or abandoned) job — the oldest of the tenant served least
    lately; ``None`` when there is nothing to do."""
    served = _served_lately(now)
    candidate = (
        sa.select(ops.operation_id)
        .select_from(operations.outerjoin(served, served.c.tenant_id == ops.tenant_id))
        .where(_leasable(now))
        .order_by(sa.func.coalesce(served.c.served, 0), ops.created_at)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True, of=operations)
    operation_id = conn.execute(candidate).scalar()
    if operation_id is None:
        return None
    result = conn.execute(
        operations.update()
        .where(ops.operation_id == operation_id, _leasable(now))
        .values(
            status=Status.RUNNING.value,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=ops.attempts + 1,
            last_action_at=now,
        )
    )
    if result.rowcount != 1:
        return None  # another worker won the race
    row = conn.execute(sa.select(operations).where(ops.operation_id == operation_id)).one()
    return _operation(row)


def _update_if_held(conn: sa.Connection, operation_id: str, owner: str, **values: object) -> bool:
    """Change a running job only while ``owner`` still holds its lease."""
    result = conn.execute(
        operations.update()
        .where(
            ops.operation_id == operation_id,
            ops.lease_owner == owner,
            ops.status == Status.RUNNING.value,
        )
        .values(**values)
    )
    return result.rowcount == 1


def renew_lease(
    conn: sa.Connection, operation_id: str, *, owner: str, now: datetime, lease_seconds: float
) -> bool:
    """Heartbeat: extend the lease; ``False`` if it was lost to another worker."""
    return _update_if_held(
        conn, operation_id, owner, lease_expires_at=now + timedelta(seconds=lease_seconds)
    )


def finish_succeeded(
    conn: sa.Connection, operation_id: str, *, owner: str, manifest_id: str, now: datetime
) -> bool:
    """Mark the job succeeded with its manifest, if this worker still holds the lease."""
    return _update_if_held(
        conn,
        operation_id,
        owner,
        status=Status.SUCCEEDED.value,
        manifest_id=manifest_id,
        last_action_at=now,
        lease_owner=None,
        lease_expires_at=None,
    )


def finish_failed(
    conn: sa.Connection, operation_id: str, *, owner: str, code: str, message: str, now: datetime
) -> bool:
    """Mark the job failed (a ``failedOperation``), if this worker still holds the lease."""
    return _update_if_held(
        conn,
        operation_id,
        owner,
        status=Status.FAILED.value,
        error_code=code,
        error_message=message[:1000],
        last_action_at=now,
        lease_owner=None,
        lease_expires_at=None,
    )


def hand_to_partitions(
    conn: sa.Connection, operation_id: str, *, owner: str, now: datetime
) -> bool:
    """The planner gives the running job to its parts, if it still holds the lease."""
    return _update_if_held(
        conn,
        operation_id,
        owner,
        lease_owner=PARTITIONS_OWNER,
        lease_expires_at=None,
        last_action_at=now,
    )


def release_lease(conn: sa.Connection, operation_id: str, *, owner: str, now: datetime) -> bool:
    """Hand a job back to the queue (clean shutdown, retryable error)."""
    return _update_if_held(
        conn,
        operation_id,
        owner,
        status=Status.NOT_STARTED.value,
        lease_owner=None,
        lease_expires_at=None,
        last_action_at=now,
    )
