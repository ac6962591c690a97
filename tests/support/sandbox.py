"""Sandbox test helpers: an app over the small export dataset with a hand-moved clock.

Use with the ``settings`` fixture::

    with sandbox_app(settings) as (client, runtime, clock):
        put_scenario(client, runtime, {"progression": "polls:3"})
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.factory import app_client, opened

BILLING = "reports/partners/billing"


@contextmanager
def sandbox_app(
    settings: Settings, **changes: Any
) -> Iterator[tuple[TestClient, Runtime, ManualClock]]:
    """App (no in-process worker) over ``build_dataset``; the clock starts at settings' now."""
    with opened(settings, blob_rows=3, **changes) as runtime:
        clock = ManualClock(runtime.clock())
        runtime.clock = clock
        data.build_dataset(runtime)
        with app_client(runtime) as client:
            yield client, runtime, clock


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.keys.admin_token}"}


def put_scenario(
    client: TestClient, runtime: Runtime, scenario: dict[str, Any], tenant: str | None = None
) -> dict[str, Any]:
    path = f"/_billport/tenants/{tenant}/scenario" if tenant else "/_billport/scenario"
    response = client.put(path, json=scenario, headers=admin_headers(runtime))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def start_export(
    client: Any, runtime: Runtime, tenant: str = data.TENANT, body: Any = None, **headers: str
) -> str:
    """POST a billed reconciliation export; returns the operation URL."""
    response = client.post(
        f"/v1.0/{BILLING}/reconciliation/billed/export",
        json=body or {"invoiceId": data.MODERN},
        headers={**data.graph_headers(runtime, tenant), **headers},
    )
    assert response.status_code == 202, response.text
    return str(response.headers["Location"])
