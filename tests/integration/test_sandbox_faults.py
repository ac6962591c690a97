"""Injected faults (429, 503, dropped connection) and latency, at probability 1 and seeded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.factory import live_server
from tests.support.sandbox import BILLING, admin_headers, put_scenario, sandbox_app, start_export

App = tuple[TestClient, Runtime, ManualClock]
EXPORT = f"/v1.0/{BILLING}/reconciliation/billed/export"


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    with sandbox_app(settings) as opened:
        yield opened


def post_export(client: Any, runtime: Runtime) -> httpx.Response:
    return client.post(  # type: ignore[no-any-return]
        EXPORT, json={"invoiceId": data.MODERN}, headers=data.graph_headers(runtime)
    )


def logged(client: TestClient, runtime: Runtime) -> list[dict[str, Any]]:
    response = client.get("/_billport/requests?limit=1000", headers=admin_headers(runtime))
    assert response.status_code == 200
    return response.json()["value"]  # type: ignore[no-any-return]


def test_429_with_retry_after_in_the_graph_envelope(app: App) -> None:
    client, runtime, _ = app
    fault = {"route": "/v1.0/reports/*", "kind": "429", "retryAfter": 7}
    put_scenario(client, runtime, {"faults": [fault]})
    response = post_export(client, runtime)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["x-billport-fault"] == "429"
    assert response.headers["request-id"]
    error = response.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    row = logged(client, runtime)[-1]
    assert (row["status"], row["fault"], row["retryAfter"]) == (429, "429", 7)


def test_429_defaults_to_the_scenario_retry_after(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"retryAfter": 3, "faults": [{"route": "*", "kind": "429"}]})
    assert post_export(client, runtime).headers["Retry-After"] == "3"


def test_503_on_blobs_is_azure_xml_and_other_routes_are_untouched(app: App) -> None:
    client, runtime, _ = app
    location = start_export(client, runtime)
    from billport.jobs.worker import Worker

    Worker(runtime).run(once=True)
    op = client.get(location, headers=data.graph_headers(runtime)).json()
    manifest = op["resourceLocation"]
    put_scenario(client, runtime, {"faults": [{"route": "/blobs/*", "kind": "503"}]})
    blob = f"{manifest['rootDirectory']}/{manifest['blobs'][0]['name']}?{manifest['sasToken']}"
    response = client.get(blob)
    assert response.status_code == 503
    assert response.headers["x-ms-error-code"] == "ServerBusy"
    assert response.text.startswith("<?xml")
    assert "Retry-After" not in response.headers  # only when the rule gives one
    assert client.get(location, headers=data.graph_headers(runtime)).status_code == 200


def test_503_on_partner_center_uses_its_envelope(app: App) -> None:
    client, runtime, _ = app
    fault = {"route": "/v1/invoices*", "kind": "503", "retryAfter": 1, "methods": ["GET"]}
    put_scenario(client, runtime, {"faults": [fault]})
    response = client.get("/v1/invoices")
    assert response.status_code == 503
    assert response.json()["source"] == "PartnerFD"
    assert response.headers["ms-requestid"]


def test_admin_routes_never_get_faults(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"faults": [{"route": "*", "kind": "503"}]})
    assert client.get("/_billport/scenario", headers=admin_headers(runtime)).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_seeded_probability_replays_identically(app: App) -> None:
    client, runtime, _ = app
    scenario = {"seed": 42, "faults": [{"route": "/v1.0/*", "kind": "429", "probability": 0.5}]}

    def run() -> list[int]:
        put_scenario(client, runtime, scenario)  # setting it again restarts its sequence
        return [post_export(client, runtime).status_code for _ in range(24)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {202, 429}
    put_scenario(client, runtime, {**scenario, "seed": 43})
    other = [post_export(client, runtime).status_code for _ in range(24)]
    assert other != first


def test_probability_zero_never_fires(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"faults": [{"route": "*", "kind": "503", "probability": 0}]})
    assert {post_export(client, runtime).status_code for _ in range(5)} == {202}


def test_fixed_latency_delays_the_response(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"latencyMs": 120})
    started = time.perf_counter()
    assert post_export(client, runtime).status_code == 202
    assert time.perf_counter() - started >= 0.12
    row = logged(client, runtime)[-1]
    assert row["injectedDelayMs"] == 120
    assert row["latencyMs"] >= 120


def test_latency_range_is_seeded_and_per_route(app: App) -> None:
    client, runtime, _ = app
    rule = {"route": "/v1.0/*", "kind": "latency", "latencyMs": [5, 40], "methods": ["POST"]}
    scenario = {"seed": 7, "faults": [rule]}

    def run() -> list[int]:
        put_scenario(client, runtime, scenario)
        for _ in range(6):
            post_export(client, runtime)
        client.get("/v1/invoices")  # not matched: no delay
        return [r["injectedDelayMs"] for r in logged(client, runtime)[-7:]]

    first, second = run(), run()
    assert first == second
    assert all(5 <= d <= 40 for d in first[:6]) and len(set(first[:6])) > 1
    assert first[6] == 0


def test_dropped_connection_on_a_real_server(settings: Settings) -> None:
    with sandbox_app(settings) as (client, runtime, _):
        put_scenario(client, runtime, {"faults": [{"route": "/v1.0/*", "kind": "drop"}]})
        with live_server(runtime) as base, httpx.Client(base_url=base, timeout=5) as http:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                post_export(http, runtime)
            assert http.get("/healthz").status_code == 200  # the server is fine
            rows = http.get("/_billport/requests", headers=admin_headers(runtime)).json()
        dropped = [r for r in rows["value"] if r["fault"] == "drop"]
        assert len(dropped) == 1 and dropped[0]["status"] == 0


def test_dropped_connection_in_process_raises(app: App) -> None:
    client, runtime, _ = app
    put_scenario(client, runtime, {"faults": [{"route": "*", "kind": "drop"}]})
    with pytest.raises(ConnectionAbortedError):
        post_export(client, runtime)
