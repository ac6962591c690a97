"""Only verified callers count in the sandbox's log, compliance report and fault draws (issue 18).

A forged token (unsigned, ``alg: none``) naming a victim's tenant and client id is answered
401, as ever; it must not count as the victim's early retry, nor take the victim tenant's
fault draws, and floods of such calls must not push real calls out of the log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import scenarios
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.sandbox import BILLING, admin_headers, put_scenario, sandbox_app
from tests.support.tokens import bearer

App = tuple[TestClient, Runtime, ManualClock]
EXPORT = f"/v1.0/{BILLING}/reconciliation/billed/export"
VICTIM = "test-client"  # the azp of tests.support.exports.graph_headers


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    with sandbox_app(settings, request_log_size=5) as opened:
        yield opened


def forged_headers(tenant: str = data.TENANT, client_id: str = VICTIM) -> dict[str, str]:
    """An unsigned token naming the victim's tenant and client."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"tid": tenant, "azp": client_id, "appid": client_id, "aud": "x", "exp": 2**40}
    return {"Authorization": f"Bearer {part({'alg': 'none'})}.{part(claims)}."}


def post_export(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post(EXPORT, json={"invoiceId": data.MODERN}, headers=headers)


def admin_get(client: TestClient, runtime: Runtime, path: str) -> Any:
    response = client.get(f"/_billport/{path}", headers=admin_headers(runtime))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_forged_token_leaves_the_victims_compliance_clean(app: App) -> None:
    client, runtime, _ = app
    rule = {"route": "/v1.0/reports/*", "kind": "429", "retryAfter": 7}
    put_scenario(client, runtime, {"faults": [rule]}, tenant=data.TENANT)
    told = post_export(client, data.graph_headers(runtime))
    assert told.status_code == 429 and told.headers["Retry-After"] == "7"
    forged = post_export(client, forged_headers())  # at once: an early retry, if it counted
    assert forged.status_code == 401
    report = admin_get(client, runtime, "compliance")
    assert report["compliant"] is True, report
    assert [c["client"] for c in report["clients"]] == [VICTIM]
    assert report["clients"][0]["requests"] == 1
    rows = admin_get(client, runtime, "requests?limit=10")["value"]
    assert VICTIM not in json.dumps(rows[-1])  # labelled by address, not the azp it names
    assert rows[-1]["status"] == 401 and data.TENANT not in json.dumps(rows[-1])
    assert rows[-1]["verified"] is False and rows[0]["verified"] is True  # the log says which


def draws(runtime: Runtime) -> dict[str, int]:
    with runtime.db.connect() as conn:
        return {r.scope: r.draws for r in conn.execute(sa.select(scenarios))}


def test_a_forged_token_takes_none_of_the_victim_tenants_draws(app: App) -> None:
    client, runtime, _ = app
    rule = {"route": "/v1.0/reports/*", "kind": "503", "probability": 0.5}
    put_scenario(client, runtime, {"seed": 3, "faults": [rule]}, tenant=data.TENANT)
    put_scenario(client, runtime, {"seed": 4, "faults": [rule]})  # server-wide too
    before = draws(runtime)
    for _ in range(5):
        assert post_export(client, forged_headers()).status_code in (401, 503)
    assert draws(runtime) == before
    post_export(client, data.graph_headers(runtime))
    after = draws(runtime)
    assert sum(after.values()) == sum(before.values()) + 1  # a verified call takes one


def test_unverified_floods_do_not_evict_verified_calls(app: App) -> None:
    client, runtime, _ = app
    real = bearer(runtime, None, data.TENANT, "partner-center", client_id=VICTIM)
    for _ in range(3):
        assert client.get("/v1/invoices", headers=real).status_code == 200
    for _ in range(40):
        assert client.get("/v1/invoices", headers=forged_headers()).status_code == 401
        assert client.get("/v1/invoices").status_code == 401
    rows = admin_get(client, runtime, "requests?limit=100")["value"]
    assert sum(r["status"] == 200 for r in rows) == 3  # the real calls are all kept
    assert sum(r["status"] == 401 for r in rows) == 5  # the flood, to its own bound
