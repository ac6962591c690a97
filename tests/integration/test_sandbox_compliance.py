"""The request log and the client-compliance report, driven by plain httpx-style calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.sandbox import BILLING, admin_headers, put_scenario, sandbox_app
from tests.support.tokens import bearer

App = tuple[TestClient, Runtime, ManualClock]


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    with sandbox_app(settings) as opened:
        yield opened


def as_client(runtime: Runtime, client_id: str) -> dict[str, str]:
    return bearer(runtime, None, data.TENANT, client_id=client_id)


def export(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post(
        f"/v1.0/{BILLING}/reconciliation/billed/export",
        json={"invoiceId": data.MODERN},
        headers=headers,
    )
    assert response.status_code == 202
    return str(response.headers["Location"])


def report(client: TestClient, runtime: Runtime, only: str | None = None) -> dict[str, Any]:
    params = {"client": only} if only else {}
    response = client.get("/_billport/compliance", params=params, headers=admin_headers(runtime))
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_early_poller_is_flagged_and_patient_poller_passes(app: App) -> None:
    client, runtime, clock = app
    put_scenario(client, runtime, {"progression": "polls:3", "retryAfter": 2})
    early, patient = as_client(runtime, "early-app"), as_client(runtime, "patient-app")
    early_op, patient_op = export(client, early), export(client, patient)
    for _ in range(3):
        assert client.get(early_op, headers=early).status_code == 200
        clock.advance(0.5)  # polls every half second though told to wait 2
    for _ in range(3):
        assert client.get(patient_op, headers=patient).status_code == 200
        clock.advance(2)
    body = report(client, runtime)
    assert body["compliant"] is False
    by_client = {c["client"]: c for c in body["clients"]}
    assert by_client["patient-app"]["compliant"] is True
    assert by_client["patient-app"]["retriesChecked"] == 2
    flagged = by_client["early-app"]
    assert flagged["compliant"] is False
    assert len(flagged["violations"]) == 2
    violation = flagged["violations"][0]
    assert violation["retryAfter"] == 2
    assert violation["waitedSeconds"] == 0.5
    assert violation["resource"] == "GET " + early_op.removeprefix("http://testserver")
    assert report(client, runtime, only="patient-app")["compliant"] is True


def test_retrying_a_429_too_soon_is_flagged(app: App) -> None:
    client, runtime, clock = app
    fault = {"route": "/v1.0/*", "kind": "429", "retryAfter": 5, "methods": ["POST"]}
    put_scenario(client, runtime, {"faults": [fault]})
    headers = as_client(runtime, "hasty")
    path = f"/v1.0/{BILLING}/reconciliation/billed/export"
    body = {"invoiceId": data.MODERN}
    assert client.post(path, json=body, headers=headers).status_code == 429
    clock.advance(1)
    assert client.post(path, json=body, headers=headers).status_code == 429
    clock.advance(5)
    assert client.post(path, json=body, headers=headers).status_code == 429
    hasty = report(client, runtime)["clients"][0]
    assert hasty["client"] == "hasty"
    assert [v["waitedSeconds"] for v in hasty["violations"]] == [1.0]
    assert hasty["retriesChecked"] == 2


def test_other_resources_do_not_count_as_a_retry(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"progression": "polls:9", "retryAfter": 60})
    headers = as_client(runtime, "busy-app")
    first, second = export(client, headers), export(client, headers)
    client.get(first, headers=headers)
    client.get(second, headers=headers)  # a different operation: not a retry of the first
    client.get("/v1.0/", headers=headers)
    assert report(client, runtime)["compliant"] is True


def test_request_log_records_calls_without_a_token_by_address(app: App) -> None:
    client, runtime, _ = app
    client.get("/v1/invoices")
    rows = client.get("/_billport/requests", headers=admin_headers(runtime)).json()["value"]
    assert rows[-1]["client"] == "address:testclient"
    assert (rows[-1]["method"], rows[-1]["path"], rows[-1]["status"]) == (
        "GET",
        "/v1/invoices",
        401,
    )
    assert rows[-1]["requestId"]
    assert all(not r["path"].startswith("/_billport") for r in rows)


def test_request_log_keeps_only_the_newest_rows(settings: Settings) -> None:
    with sandbox_app(settings, request_log_size=10) as (client, runtime, _):
        for _ in range(130):
            client.get("/v1/invoices")
        body = client.get("/_billport/requests?limit=1000", headers=admin_headers(runtime)).json()
        assert 10 <= body["count"] < 10 + 64
        assert body["value"][-1]["id"] == 130


def test_request_log_can_be_turned_off(settings: Settings) -> None:
    with sandbox_app(settings, request_log_size=0) as (client, runtime, _):
        client.get("/v1/invoices")
        body = client.get("/_billport/requests", headers=admin_headers(runtime)).json()
        assert body == {"count": 0, "value": []}
