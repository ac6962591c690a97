"""Export parts: a large export's independently leased slices of rows.

The plan row fixes what every part must agree on (directory, fingerprint, blob size); each
part row covers the scope's rows with ``lo_id <= id < hi_id`` and is leased exactly like an
operation: PostgreSQL picks with ``FOR UPDATE SKIP LOCKED``, SQLite with a conditional
update, and every change is conditional on the lease token.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from billport.billing.operations import Status
from billport.store.manifests import ExportBlob
from billport.store.tables import export_parts, export_plans, operations

parts_c = export_parts.c
PENDING, RUNNING, DONE = "pending", "running", "done"


@dataclass(frozen=True)
class Plan:
    operation_id: str
    root_path: str
    fingerprint: str
    part_count: int
    blob_rows: int
    created_at: datetime


@dataclass(frozen=True)
class Partition:
    operation_id: str
    part_index: int
    lo_id: int
    hi_id: int
    first_blob: int
    status: str
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    blobs: tuple[ExportBlob, ...]  # recorded before publishing

    @property
    def staging_key(self) -> str:
        return f"{self.operation_id}-p{self.part_index:05d}"


def _partition(row: sa.Row) -> Partition:  # type: ignore[type-arg]
    return Partition(
        operation_id=row.operation_id,
        part_index=row.part_index,
        lo_id=row.lo_id,
        hi_id=row.hi_id,
        first_blob=row.first_blob,
        status=row.status,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        blobs=_decode_blobs(row.blobs),
    )


def insert_plan(
    conn: sa.Connection, plan: Plan, ranges: list[tuple[int, int]], blobs_per_part: int
) -> None:
    """Create the plan and its pending parts in the caller's transaction.

    Every part but the last holds the same number of rows, so numbering part ``k``'s blobs
    from ``k * blobs_per_part`` keeps ``part-NNNNN`` names contiguous and in row order.
    """
    conn.execute(
        export_plans.insert().values(
            operation_id=plan.operation_id,
            root_path=plan.root_path,
            fingerprint=plan.fingerprint,
            part_count=plan.part_count,
            blob_rows=plan.blob_rows,
            created_at=plan.created_at,
        )
    )
    conn.execute(
        export_parts.insert(),
        [
            dict(
                operation_id=plan.operation_id,
                part_index=index,
                lo_id=lo,
                hi_id=hi,
                first_blob=index * blobs_per_part,
                status=PENDING,
                attempts=0,
            )
            for index, (lo, hi) in enumerate(ranges)
        ],
    )


def get_plan(conn: sa.Connection, operation_id: str) -> Plan | None:
    row = conn.execute(
        sa.select(export_plans).where(export_plans.c.operation_id == operation_id)
    ).first()
    if row is None:
        return None
    return Plan(
        operation_id=row.operation_id,
        root_path=row.root_path,
        fingerprint=row.fingerprint,
        part_count=row.part_count,
        blob_rows=row.blob_rows,
        created_at=row.created_at,
    )


def list_partitions(conn: sa.Connection, operation_id: str) -> list[Partition]:
    """Every part of a plan, in part order."""
    query = (
        sa.select(export_parts)
        .where(parts_c.operation_id == operation_id)
        .order_by(parts_c.part_index)
    )
    return [_partition(row) for row in conn.execute(query)]


def count_unfinished(conn: sa.Connection, operation_id: str) -> int:
    """Parts of a plan not yet done (read after the operation row lock: see runner)."""
    query = sa.select(sa.func.count()).where(
        parts_c.operation_id == operation_id, parts_c.status != DONE
    )
    return int(conn.execute(query).scalar_one())


def _leasable(now: datetime) -> sa.ColumnElement[bool]:
    expired = sa.and_(parts_c.status == RUNNING, parts_c.lease_expires_at < now)
    return sa.or_(parts_c.status == PENDING, expired)


def lease_next_partition(
    conn: sa.Connection, *, owner: str, now: datetime, lease_seconds: float
) -> Partition | None:
    """Take the first waiting (or abandoned) part of the oldest running export."""
    candidate = (
        sa.select(parts_c.operation_id, parts_c.part_index)
        .join(operations, operations.c.operation_id == parts_c.operation_id)
        .where(_leasable(now), operations.c.status == Status.RUNNING.value)
        .order_by(operations.c.created_at, parts_c.operation_id, parts_c.part_index)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True, of=export_parts)
    found = conn.execute(candidate).first()
    if found is None:
        return None
    key = (parts_c.operation_id == found.operation_id, parts_c.part_index == found.part_index)
    result = conn.execute(
        export_parts.update()
        .where(*key, _leasable(now))
        .values(
            status=RUNNING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=parts_c.attempts + 1,
        )
    )
    if result.rowcount != 1:
        return None  # another worker won the race
    return _partition(conn.execute(sa.select(export_parts).where(*key)).one())


def _update_if_held(conn: sa.Connection, part: Partition, owner: str, **values: object) -> bool:
    """Change a running part only while ``owner`` still holds its lease."""
    result = conn.execute(
        export_parts.update()
        .where(
            parts_c.operation_id == part.operation_id,
            parts_c.part_index == part.part_index,
            parts_c.lease_owner == owner,
            parts_c.status == RUNNING,
        )
        .values(**values)
    )
    return result.rowcount == 1


def renew_partition_lease(
    conn: sa.Connection, part: Partition, *, owner: str, now: datetime, lease_seconds: float
) -> bool:
    """Heartbeat; ``False`` once the part was taken over or its export finished."""
    return _update_if_held(
        conn, part, owner, lease_expires_at=now + timedelta(seconds=lease_seconds)
    )


def record_partition_blobs(
    conn: sa.Connection, part: Partition, *, owner: str, blobs: Sequence[ExportBlob]
) -> bool:
    """Note the blobs about to be published, so a takeover can remove them if we crash."""
    encoded = json.dumps([{"name": b.name, "rows": b.rows, "size": b.size} for b in blobs])
    return _update_if_held(conn, part, owner, blobs=encoded)


def _decode_blobs(text: str | None) -> tuple[ExportBlob, ...]:
    return tuple(ExportBlob(b["name"], b["rows"], b["size"]) for b in json.loads(text or "[]"))


def finish_partition(conn: sa.Connection, part: Partition, *, owner: str) -> bool:
    """Mark the part done (its recorded blobs are published)."""
    return _update_if_held(conn, part, owner, status=DONE, lease_owner=None, lease_expires_at=None)


def release_partition(conn: sa.Connection, part: Partition, *, owner: str) -> bool:
    """Hand a part back (clean stop, retryable error)."""
    return _update_if_held(
        conn, part, owner, status=PENDING, lease_owner=None, lease_expires_at=None
    )


def delete_plan(conn: sa.Connection, operation_id: str) -> None:
    """Drop a finished export's plan: running parts then lose their lease and stop."""
    conn.execute(export_parts.delete().where(parts_c.operation_id == operation_id))
    conn.execute(export_plans.delete().where(export_plans.c.operation_id == operation_id))
