"""What keeps small work fast: workers woken at once, caches that stay correct, and a
request log that writes in batches.

No test times the machine: a worker that waits for its poll interval would wait 60 s here,
so an export finishing within the bounded wait proves the wake-up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from billport.auth import partners
from billport.auth import validation as token_checks
from billport.billing.operations import Status
from billport.errors import AuthenticationError
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import request_log as request_store
from billport.store import wakeups
from billport.store.db import Database
from billport.store.request_log import LoggedRequest
from billport.usecases import admin, operations, scenarios
from billport.usecases.request_log import MAX_BUFFERED, RequestRecorder
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.sandbox import admin_headers

BOUND = 20.0  # seconds a test waits at most; the poll interval below is three times that


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, worker_poll_seconds=60.0, worker_listen_seconds=60.0) as runtime:
        data.build_dataset(runtime, rows=5)
        yield runtime


def wait_for(runtime: Runtime, operation_id: str) -> Status:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        status = operations.read_operation(runtime.db, data.TENANT, operation_id).operation.status
        if status.terminal:
            return status
        time.sleep(0.01)
    return status


def test_an_idle_worker_is_woken_by_a_new_export_not_by_its_poll(runtime: Runtime) -> None:
    worker = Worker(runtime, name="idle")
    worker.start_thread()
    try:
        time.sleep(0.3)  # it found nothing and waits now (60 s poll)
        assert wait_for(runtime, data.queue_export(runtime)) is Status.SUCCEEDED
        assert wait_for(runtime, data.queue_export(runtime)) is Status.SUCCEEDED  # and again
    finally:
        worker.stop_and_join()


def test_sqlite_wakeups_reach_every_waiting_socket_and_drop_dead_ones(tmp_path: Path) -> None:
    if not wakeups.available():
        pytest.skip("wake-up sockets need Linux's abstract namespace")
    directory = wakeups.wakeup_dir(tmp_path / "billport.db")
    first, second = wakeups.Listener(directory), wakeups.Listener(directory)
    (directory / f"1-gone{wakeups.SUFFIX}").touch()  # a worker that died without closing
    try:
        assert not first.wait(0)
        assert wakeups.nudge(directory) == 2
        assert first.wait(0) and second.wait(0)
        assert not first.wait(0)  # each wake-up is consumed
        assert sorted(p.name for p in directory.iterdir()) == sorted(
            [first.path.name, second.path.name]
        )
    finally:
        first.close()
        second.close()
    assert list(directory.iterdir()) == []
    assert wakeups.nudge(tmp_path / "nowhere") == 0


def test_a_commit_that_adds_work_wakes_sqlite_workers_only_after_it(runtime: Runtime) -> None:
    directory = runtime.db.wake_dir
    if directory is None:
        pytest.skip("PostgreSQL workers wake through LISTEN/NOTIFY")
    listener = wakeups.Listener(directory)
    try:
        with pytest.raises(RuntimeError), runtime.db.begin() as conn:
            from billport.store import operations as op_store

            op_store.notify_workers(conn)
            raise RuntimeError("rolled back")
        assert not listener.wait(0)  # nothing committed, nobody woken
        data.queue_export(runtime)
        assert listener.wait(0)
    finally:
        listener.close()


def test_a_verified_token_is_not_verified_again_but_still_expires(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billport.auth.issuer import GRAPH_AUDIENCE, issue_token
    from billport.store.clients import GRAPH_ROLE

    now = runtime.clock()
    token = issue_token(
        runtime.keys, runtime.settings, tenant_id=data.TENANT, client_id="c",
        audience=GRAPH_AUDIENCE, roles=(GRAPH_ROLE,), now=now, lifetime=600,
    )  # fmt: skip
    calls = []
    real = token_checks._verify_signature
    monkeypatch.setattr(token_checks, "_verify_signature", lambda *a: calls.append(1) or real(*a))

    def check(at: object) -> token_checks.Principal:
        return token_checks.validate_token(
            token, expected_audience=GRAPH_AUDIENCE, keys=runtime.keys,
            settings=runtime.settings, now=at,  # type: ignore[arg-type]
        )  # fmt: skip

    assert check(now).tenant_id == check(now).tenant_id == data.TENANT
    assert len(calls) == 1
    with pytest.raises(AuthenticationError, match="expired"):
        check(now + timedelta(hours=1))
    from billport.auth.keys import KeyRing

    other = KeyRing.load_or_create(
        runtime.settings.replace(data_dir=runtime.settings.data_dir / "x")
    )
    with pytest.raises(AuthenticationError):  # another ring's cache knows nothing of it
        token_checks.validate_token(
            token, expected_audience=GRAPH_AUDIENCE, keys=other,
            settings=runtime.settings, now=now,
        )  # fmt: skip


def test_scenarios_change_at_once_here_and_within_the_cache_time_elsewhere(
    runtime: Runtime,
) -> None:
    settings = runtime.settings.replace(scenario_cache_seconds=0.2)
    replica = Database.from_settings(settings)  # another process's handle on the same store
    try:
        assert scenarios.applied_scenario(replica, settings, data.TENANT).source == "default"
        scenarios.set_scenario(runtime.db, runtime.clock, None, {"retryAfter": 7})
        here = scenarios.applied_scenario(runtime.db, settings, data.TENANT)
        assert (here.source, here.scenario.retry_after) == ("server", 7)
        deadline = time.monotonic() + BOUND
        while scenarios.applied_scenario(replica, settings, data.TENANT).source != "server":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        uncached = settings.replace(scenario_cache_seconds=0)
        scenarios.clear_scenario(replica, runtime.clock, None)
        assert scenarios.applied_scenario(runtime.db, uncached, data.TENANT).source == "default"
    finally:
        replica.dispose()


def test_a_known_partner_is_remembered_until_a_reset_removes_it(runtime: Runtime) -> None:
    assert partners.is_partner(runtime.db, data.TENANT)
    assert not partners.is_partner(runtime.db, "not-a-partner")
    admin.reset(runtime.db, runtime.blobs, all_data=True)
    assert not partners.is_partner(runtime.db, data.TENANT)


def logged(n: int, runtime: Runtime) -> LoggedRequest:
    now = runtime.clock()
    return LoggedRequest(
        id=0, client=f"c{n}", tenant_id=None, method="GET", path=f"/p/{n}", status=200,
        received_at=now, answered_at=now, latency_ms=1, delay_ms=0, fault=None,
        retry_after=None, request_id=str(n),
    )  # fmt: skip


def stored_clients(runtime: Runtime) -> list[str]:
    with runtime.db.connect() as conn:
        return [r.client for r in request_store.recent_requests(conn)]


def test_the_request_log_is_written_in_batches_and_bounded(runtime: Runtime) -> None:
    recorder = RequestRecorder(runtime.db, keep=3)
    for n in range(5):
        recorder.record(logged(n, runtime))
    assert stored_clients(runtime) == []  # buffered: no write on the request's path
    assert recorder.flush() == 5
    assert stored_clients(runtime) == ["c2", "c3", "c4"]  # the newest `keep` stay
    assert recorder.flush() == 0


def test_a_failed_batch_is_kept_for_the_next_one(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = RequestRecorder(runtime.db, keep=100)
    recorder.record(logged(1, runtime))

    def down(*_args: object, **_kwargs: object) -> None:
        raise OSError("database gone")

    monkeypatch.setattr(request_store, "insert_requests", down)
    with pytest.raises(OSError):
        recorder.flush()
    monkeypatch.undo()
    recorder.record(logged(2, runtime))
    assert recorder.flush() == 2
    assert stored_clients(runtime) == ["c1", "c2"]


def test_a_full_buffer_drops_the_oldest_calls(runtime: Runtime) -> None:
    recorder = RequestRecorder(runtime.db, keep=MAX_BUFFERED + 10)
    for n in range(MAX_BUFFERED + 2):
        recorder.record(logged(n, runtime))
    assert recorder.dropped == 2
    assert recorder.flush() == MAX_BUFFERED


def test_the_admin_api_shows_this_processes_calls_at_once(runtime: Runtime) -> None:
    with app_client(runtime) as client:
        headers = data.graph_headers(runtime)
        for _ in range(3):
            client.get("/v1.0/reports/partners/billing/operations/x", headers=headers)
        shown = client.get("/_billport/requests", headers=admin_headers(runtime)).json()
        assert shown["count"] == 3
        assert {r["status"] for r in shown["value"]} == {404}


def test_the_recorder_thread_writes_without_being_asked(runtime: Runtime) -> None:
    recorder = RequestRecorder(runtime.db, keep=100)
    recorder.start()
    try:
        recorder.record(logged(1, runtime))
        deadline = time.monotonic() + BOUND
        while stored_clients(runtime) != ["c1"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        recorder.close()
