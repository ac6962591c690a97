"""Scenario controls applied when operations and manifests are read: progression,
Retry-After, forced failures, manifest mode, dataFormat and SAS lifetime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import operations
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.sandbox import put_scenario, sandbox_app, start_export

App = tuple[TestClient, Runtime, ManualClock]


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    with sandbox_app(settings) as opened:
        yield opened


def poll(client: TestClient, runtime: Runtime, location: str, tenant: str = data.TENANT) -> Any:
    response = client.get(location, headers=data.graph_headers(runtime, tenant))
    assert response.status_code == 200, response.text
    return response


def test_polls_n_succeeds_on_the_nth_poll(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"progression": "polls:3", "retryAfter": 2})
    location = start_export(client, runtime)
    assert Worker(runtime).run(once=True) == 1  # the worker is done before the first poll
    first, second, third = (poll(client, runtime, location) for _ in range(3))
    for early in (first, second):
        assert early.json()["status"] == "running"
        assert early.json()["@odata.type"].endswith(".runningOperation")
        assert "resourceLocation" not in early.json()
        assert early.headers["Retry-After"] == "2"
    assert third.json()["status"] == "succeeded"
    assert "Retry-After" not in third.headers
    assert third.json()["resourceLocation"]["blobCount"] == 3
    with runtime.db.connect() as conn:
        assert conn.execute(sa.select(operations.c.poll_count)).scalar() == 3


def test_polls_n_waits_for_a_slow_worker(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"progression": "polls:1"})
    location = start_export(client, runtime)
    assert poll(client, runtime, location).json()["status"] == "notStarted"
    Worker(runtime).run(once=True)
    assert poll(client, runtime, location).json()["status"] == "succeeded"


def test_after_seconds_uses_the_injected_clock(app: App) -> None:
    client, runtime, clock = app
    put_scenario(client, runtime, {"progression": "after:30"})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    assert poll(client, runtime, location).json()["status"] == "running"
    clock.advance(29.9)
    assert poll(client, runtime, location).json()["status"] == "running"
    clock.advance(0.1)
    assert poll(client, runtime, location).json()["status"] == "succeeded"


def test_immediate_is_the_default_and_retry_after_comes_from_settings(app: App) -> None:
    client, runtime, _ = app
    location = start_export(client, runtime)
    waiting = poll(client, runtime, location)
    assert waiting.headers["Retry-After"] == str(runtime.settings.retry_after)
    Worker(runtime).run(once=True)
    assert poll(client, runtime, location).json()["status"] == "succeeded"
    with runtime.db.connect() as conn:  # no scenario, no per-poll write
        assert conn.execute(sa.select(operations.c.poll_count)).scalar() == 0


def test_forced_failure_matches_dataset_and_invoice_globs(app: App) -> None:
    client, runtime, _ = app
    failure = {"dataset": "billed*", "invoice": "G0169*", "code": "7001", "message": "Nope"}
    put_scenario(client, runtime, {"failures": [failure], "progression": "polls:2"})
    failing = start_export(client, runtime)
    other_invoice = start_export(client, runtime, body={"invoiceId": data.LEGACY})
    Worker(runtime).run(once=True)
    assert poll(client, runtime, failing).json()["status"] == "running"
    failed = poll(client, runtime, failing).json()
    assert failed["@odata.type"].endswith(".failedOperation")
    assert failed["error"] == {"code": "7001", "message": "Nope"}
    poll(client, runtime, other_invoice)
    legacy = poll(client, runtime, other_invoice).json()
    assert legacy["error"]["code"] == "5000"  # the usual legacy-invoice failure, not forced
    assert "Nope" not in legacy["error"]["message"]


def test_forced_failure_writes_no_blobs(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"failures": [{"dataset": "billedReconciliation"}]})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    body = poll(client, runtime, location).json()
    assert body["error"] == {"code": "5000", "message": "No data available"}
    assert not list((runtime.settings.blob_dir).rglob("*.json.gz"))


@pytest.mark.parametrize(
    ("mode", "inline", "link"),
    [("both", True, True), ("inline", True, False), ("link", False, True)],
)
def test_manifest_mode(app: App, mode: str, inline: bool, link: bool) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"manifest": mode})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    body = poll(client, runtime, location).json()
    assert ("resourceLocation" in body) is inline
    assert ("resourceLocation@odata.navigationLink" in body) is link


def test_data_format_is_rendered_from_the_scenario(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"dataFormat": "compressedJSONLines"})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    op = poll(client, runtime, location).json()
    assert op["resourceLocation"]["dataFormat"] == "compressedJSONLines"
    headers = data.graph_headers(runtime)
    fetched = client.get(op["resourceLocation@odata.navigationLink"], headers=headers).json()
    assert fetched["dataFormat"] == "compressedJSONLines"


def test_sas_expires_mid_download_and_a_fresh_read_renews_it(app: App) -> None:
    client, runtime, clock = app
    put_scenario(client, runtime, {"sasLifetime": 60})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    manifest = poll(client, runtime, location).json()["resourceLocation"]
    assert "se=" in manifest["sasToken"]
    urls = [
        f"{manifest['rootDirectory']}/{b['name']}?{manifest['sasToken']}" for b in manifest["blobs"]
    ]
    assert client.get(urls[0]).status_code == 200
    clock.advance(60)
    expired = client.get(urls[1])
    assert expired.status_code == 403
    assert expired.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert "expired" in expired.text
    renewed = poll(client, runtime, location).json()["resourceLocation"]
    assert len(data.download_rows(client, renewed)) == 7


def test_sas_lifetime_zero_is_expired_at_once(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"sasLifetime": 0})
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    manifest = poll(client, runtime, location).json()["resourceLocation"]
    blob = manifest["blobs"][0]["name"]
    response = client.get(f"{manifest['rootDirectory']}/{blob}?{manifest['sasToken']}")
    assert response.status_code == 403


def test_tenant_scenarios_are_isolated(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"progression": "polls:5", "retryAfter": 9}, data.TENANT)
    mine = start_export(client, runtime)
    theirs = start_export(
        client, runtime, tenant=data.OTHER_TENANT, body={"invoiceId": "G999999999"}
    )
    Worker(runtime).run(once=True)
    held = poll(client, runtime, mine)
    assert (held.json()["status"], held.headers["Retry-After"]) == ("running", "9")
    free = poll(client, runtime, theirs, data.OTHER_TENANT)
    assert free.json()["status"] == "succeeded"
    with runtime.db.connect() as conn:  # only the counted tenant's polls write
        counts = dict(
            conn.execute(sa.select(operations.c.tenant_id, operations.c.poll_count)).all()
        )
    assert counts == {data.TENANT: 1, data.OTHER_TENANT: 0}


def test_poll_counter_is_per_operation(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"progression": "polls:2"})
    first, second = start_export(client, runtime), start_export(client, runtime)
    Worker(runtime).run(once=True)
    assert poll(client, runtime, first).json()["status"] == "running"
    assert poll(client, runtime, second).json()["status"] == "running"
    assert poll(client, runtime, first).json()["status"] == "succeeded"
