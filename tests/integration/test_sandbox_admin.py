"""The admin API: authentication, scenarios (server-wide, per tenant, settings), reset, seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.errors import ConfigurationError
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings, configured_scenario, load_settings
from billport.store.tables import line_items, manifests, operations, partners
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.sandbox import admin_headers, put_scenario, sandbox_app, start_export
from tests.support.tokens import bearer

App = tuple[TestClient, Runtime, ManualClock]
ADMIN_ROUTES = [
    ("GET", "/_billport/scenario"),
    ("PUT", "/_billport/scenario"),
    ("DELETE", "/_billport/scenario"),
    ("GET", f"/_billport/tenants/{data.TENANT}/scenario"),
    ("PUT", f"/_billport/tenants/{data.TENANT}/scenario"),
    ("DELETE", f"/_billport/tenants/{data.TENANT}/scenario"),
    ("POST", "/_billport/reset"),
    ("POST", "/_billport/seed"),
    ("GET", "/_billport/requests"),
    ("GET", "/_billport/compliance"),
]


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    with sandbox_app(settings) as opened:
        yield opened


def count(runtime: Runtime, table: sa.Table) -> int:
    with runtime.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_refuse_partner_tokens_and_anonymous_calls(
    app: App, method: str, path: str
) -> None:
    client, runtime, _ = app
    for audience in ("graph", "partner-center"):
        partner = bearer(runtime, None, data.TENANT, audience)
        refused = client.request(method, path, headers=partner, json={"all": True})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "Forbidden"
    anonymous = client.request(method, path, json={"all": True})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    wrong = client.request(method, path, headers={"Authorization": "Bearer nope"}, json={})
    assert wrong.status_code == 401
    assert count(runtime, partners) == 2  # nothing was reset


def test_scenario_round_trip_and_sources(app: App) -> None:
    client, runtime, _ = app
    headers = admin_headers(runtime)
    assert client.get("/_billport/scenario", headers=headers).json() == {
        "scope": "server",
        "source": "default",
        "scenario": {"progression": "immediate", "seed": 0},
        "tenants": [],
    }
    document = {
        "progression": "polls:3",
        "retryAfter": 2,
        "failures": [
            {"dataset": "billedUsage", "invoice": "G0169*", "code": "5000", "message": "No data"}
        ],
        "faults": [
            {"route": "/v1.0/reports/*", "kind": "429", "probability": 0.5, "retryAfter": 1}
        ],
        "latencyMs": [50, 200],
        "sasLifetime": 3600,
        "dataFormat": "compressedJSON",
        "manifest": "both",
        "seed": 42,
    }
    stored = put_scenario(client, runtime, document)
    assert stored["source"] == "server"
    assert stored["scenario"] == document
    put_scenario(client, runtime, {"retryAfter": 9}, data.OTHER_TENANT)
    tenant = client.get(f"/_billport/tenants/{data.OTHER_TENANT}/scenario", headers=headers)
    assert tenant.json()["source"] == "tenant"
    assert tenant.json()["scenario"] == {"progression": "immediate", "retryAfter": 9, "seed": 0}
    mine = client.get(f"/_billport/tenants/{data.TENANT}/scenario", headers=headers).json()
    assert mine["source"] == "server"
    server = client.get("/_billport/scenario", headers=headers).json()
    assert server["tenants"] == [data.OTHER_TENANT]
    dropped = client.delete(f"/_billport/tenants/{data.OTHER_TENANT}/scenario", headers=headers)
    assert dropped.json()["source"] == "server"
    put_scenario(client, runtime, {"retryAfter": 9}, data.OTHER_TENANT)
    cleared = client.delete("/_billport/scenario", headers=headers).json()
    assert (cleared["source"], cleared["tenants"]) == ("default", [])


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"progresion": "polls:3"}, "progresion"),
        ({"progression": "polls:0"}, "progression"),
        ({"progression": "later"}, "progression"),
        ({"retryAfter": -1}, "retryAfter"),
        ({"retryAfter": "2"}, "retryAfter"),
        (
            {"faults": [{"route": "/v1.0/*", "kind": "429", "probability": 1.5}]},
            "faults[0].probability",
        ),
        ({"faults": [{"route": "/v1.0/[abc", "kind": "503"}]}, "faults[0].route"),
        ({"faults": [{"route": "v1.0/*", "kind": "503"}]}, "faults[0].route"),
        ({"faults": [{"route": "/*", "kind": "500"}]}, "faults[0].kind"),
        ({"faults": [{"route": "/*", "kind": "drop", "retryAfter": 1}]}, "faults[0].retryAfter"),
        ({"faults": [{"route": "/*", "kind": "429", "colour": 1}]}, "faults[0].colour"),
        ({"latencyMs": [200, 50]}, "latencyMs"),
        ({"latencyMs": [1, 2, 3]}, "latencyMs"),
        ({"failures": [{"code": "1"}]}, "failures[0]"),
        ({"failures": [{"dataset": "billedusages"}]}, "failures[0].dataset"),
        ({"sasLifetime": 10**9}, "sasLifetime"),
        ({"dataFormat": "csv"}, "dataFormat"),
        ({"manifest": "none"}, "manifest"),
        ({"seed": 1.5}, "seed"),
        ([], "scenario"),
    ],
)
def test_invalid_scenarios_are_refused_naming_the_key(app: App, document: object, key: str) -> None:
    client, runtime, _ = app
    for path in ("/_billport/scenario", f"/_billport/tenants/{data.TENANT}/scenario"):
        response = client.put(path, json=document, headers=admin_headers(runtime))
        assert response.status_code == 400, response.text
        assert f"'{key}'" in response.json()["error"]["message"]
    shown = client.get("/_billport/scenario", headers=admin_headers(runtime)).json()
    assert shown["source"] == "default"  # nothing half-applied


def test_malformed_json_is_400(app: App) -> None:
    client, runtime, _ = app
    headers = {**admin_headers(runtime), "Content-Type": "application/json"}
    response = client.put("/_billport/scenario", content=b"{nope", headers=headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_scenario_from_settings_is_the_default_until_overridden(settings: Settings) -> None:
    with sandbox_app(settings, scenario='{"progression": "polls:4", "retryAfter": 11}') as (
        client,
        runtime,
        _,
    ):
        headers = admin_headers(runtime)
        shown = client.get("/_billport/scenario", headers=headers).json()
        assert shown["source"] == "settings"
        location = start_export(client, runtime)
        Worker(runtime).run(once=True)
        polled = client.get(location, headers=data.graph_headers(runtime))
        assert (polled.json()["status"], polled.headers["Retry-After"]) == ("running", "11")
        put_scenario(client, runtime, {})
        assert client.get(location, headers=data.graph_headers(runtime)).json()["status"] == (
            "succeeded"
        )
        client.delete("/_billport/scenario", headers=headers)
        assert client.get("/_billport/scenario", headers=headers).json()["source"] == "settings"


def test_reset_forgets_exports_blobs_and_the_log(app: App) -> None:
    client, runtime, _ = app
    location = start_export(client, runtime)
    start_export(client, runtime)  # still queued when the reset comes
    Worker(runtime).run(once=True)
    client.get(location, headers=data.graph_headers(runtime))
    assert list(runtime.settings.blob_dir.rglob("*.json.gz"))
    response = client.post("/_billport/reset", headers=admin_headers(runtime))
    assert response.status_code == 200
    body = response.json()
    assert (body["operations"], body["manifests"], body["blobs"], body["allData"]) == (
        2,
        1,
        3,
        False,
    )
    assert body["requests"] >= 3
    assert count(runtime, operations) == count(runtime, manifests) == 0
    assert not list(runtime.settings.blob_dir.rglob("*.json.gz"))
    assert client.get(location, headers=data.graph_headers(runtime)).status_code == 404
    assert count(runtime, line_items) > 0  # data stays
    assert Worker(runtime).run(once=True) == 0  # the queued job went with its operation


def test_reset_all_empties_the_data_and_seed_refills_it(app: App) -> None:
    client, runtime, _ = app
    headers = admin_headers(runtime)
    refused = client.post("/_billport/seed", json={"lineItems": 100}, headers=headers)
    assert refused.status_code == 400
    assert '"reset": true' in refused.json()["error"]["message"]
    body = client.post("/_billport/reset", json={"all": True}, headers=headers).json()
    assert body["allData"] is True
    assert count(runtime, partners) == count(runtime, line_items) == 0
    seeded = client.post(
        "/_billport/seed",
        json={"seed": 3, "lineItems": 400, "tenants": 2, "months": 2},
        headers=headers,
    )
    assert seeded.status_code == 200, seeded.text
    assert seeded.json()["lineItems"] == count(runtime, line_items) == 400
    assert len(seeded.json()["tenants"]) == count(runtime, partners) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"lineItems": -1},
        {"tenants": 0},
        {"demo": "yes"},
        {"colour": 1},
        [1],
        {"demo": True, "invoice": "G1"},
    ],
)
def test_seed_refuses_bad_options(app: App, body: object) -> None:
    client, runtime, _ = app
    response = client.post("/_billport/seed", json=body, headers=admin_headers(runtime))
    assert response.status_code == 400
    assert count(runtime, partners) == 2


@pytest.mark.parametrize("body", [{"all": "yes"}, {"everything": True}, [True]])
def test_reset_refuses_bad_bodies(app: App, body: object) -> None:
    client, runtime, _ = app
    response = client.post("/_billport/reset", json=body, headers=admin_headers(runtime))
    assert response.status_code == 400


def test_scenario_setting_reads_a_file_and_refuses_bad_ones(tmp_path: Path) -> None:
    good = tmp_path / "scenario.json"
    good.write_text('{"progression": "after:5", "seed": 3}')
    loaded = load_settings(environ={"BILLPORT_SCENARIO": f"@{good}"})
    scenario = configured_scenario(loaded.scenario)
    assert scenario is not None and str(scenario.progression) == "after:5"
    bad = tmp_path / "bad.json"
    bad.write_text('{"faults": [{"route": "/x", "kind": "429", "probability": 2}]}')
    with pytest.raises(ConfigurationError, match=r"'faults\[0\].probability'"):
        load_settings(environ={"BILLPORT_SCENARIO": f"@{bad}"})
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(environ={"BILLPORT_SCENARIO": f"@{tmp_path / 'missing.json'}"})
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_settings(environ={"BILLPORT_SCENARIO": "{"})
