"""Fair leasing: one tenant's backlog does not starve another tenant's export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from billport.billing.datasets import Dataset
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import operations as op_store
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import opened

BACKLOG = 12


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=3)
        yield runtime


def queue(runtime: Runtime, tenant: str, invoice: str, at: datetime) -> str:
    op = operations.request_export(
        runtime.db, lambda: at, tenant, Dataset.BILLED_RECONCILIATION, {"invoiceId": invoice}
    )
    return op.operation_id


def lease(runtime: Runtime, now: datetime) -> op_store.Operation:
    with runtime.db.begin() as conn:  # leases outlive the test: nothing is taken over
        op = op_store.lease_next(conn, owner=f"w-{now}", now=now, lease_seconds=3600)
    assert op is not None
    return op


def test_a_later_tenant_is_served_before_a_backlog_finishes(runtime: Runtime) -> None:
    start = runtime.clock()
    backlog = [
        queue(runtime, data.TENANT, data.MODERN, start + timedelta(milliseconds=n))
        for n in range(BACKLOG)
    ]
    late = queue(runtime, data.OTHER_TENANT, "G999999999", start + timedelta(seconds=1))
    now = start + timedelta(seconds=2)
    first = lease(runtime, now)
    assert first.operation_id == backlog[0]  # nobody served yet: oldest first
    second = lease(runtime, now)
    assert second.operation_id == late  # the backlog's tenant was served, this one not
    third = lease(runtime, now)
    assert third.operation_id == backlog[1]  # then the backlog goes on in order


def test_jobs_served_long_ago_do_not_count(runtime: Runtime) -> None:
    start = runtime.clock()
    old = queue(runtime, data.TENANT, data.MODERN, start)
    assert lease(runtime, start).operation_id == old  # served, but long before the next
    mine = queue(runtime, data.TENANT, data.MODERN, start + timedelta(minutes=10))
    theirs = queue(
        runtime, data.OTHER_TENANT, "G999999999", start + timedelta(minutes=10, seconds=1)
    )
    later = start + op_store.FAIR_WINDOW + timedelta(minutes=10)
    assert lease(runtime, later).operation_id == mine  # back to oldest first
    assert lease(runtime, later).operation_id == theirs
