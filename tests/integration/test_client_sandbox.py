"""The billport client against sandbox faults: it finishes the export and passes compliance.

A live server with the real clock (compliance compares real gaps between calls), a
scenario that holds the operation for three polls with a 1 s ``Retry-After`` and throttles
half the Graph calls with 429 + ``Retry-After: 1``, seeded so the run replays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.client import (
    ExportRequest,
    ExportRun,
    GraphClient,
    HttpClient,
    StaticToken,
    iter_rows,
)
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import live_server, opened
from tests.support.sandbox import admin_headers
from tests.support.tokens import token

pytestmark = pytest.mark.slow  # a live server on the real clock, held polls of 1 s each
CLIENT_ID = "7b1e2f3a-0000-4000-8000-0000000c0a11"
SCENARIO: dict[str, Any] = {
    "progression": "polls:3",
    "retryAfter": 1,
    "faults": [{"route": "/v1.0/reports/*", "kind": "429", "probability": 0.5, "retryAfter": 1}],
    "seed": 42,
}


def test_the_billport_client_waits_as_told_and_passes_compliance(
    settings: Settings, tmp_path: Path
) -> None:
    with opened(settings, now="", blob_rows=3, worker_poll_seconds=0.05) as runtime:
        data.build_dataset(runtime)
        with live_server(runtime, worker=True) as base, httpx.Client(timeout=10) as admin:
            put = admin.put(
                f"{base}/_billport/scenario", json=SCENARIO, headers=admin_headers(runtime)
            )
            assert put.status_code == 200, put.text
            bearer = token(runtime, None, data.TENANT, "graph", client_id=CLIENT_ID)
            with HttpClient() as http:
                graph = GraphClient(StaticToken(bearer), http, f"{base}/v1.0")
                request = ExportRequest(Dataset.BILLED_RECONCILIATION, invoice_id=data.MODERN)
                run = ExportRun(graph, request, tmp_path / "parts", tmp_path / "state.json")
                _manifest, parts = run.run()
            rows = list(iter_rows(parts, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL))
            stored = data.stored_docs(
                runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, invoice_id=data.MODERN
            )
            assert len(rows) == len(stored) > 0

            log = admin.get(
                f"{base}/_billport/requests",
                params={"client": CLIENT_ID, "limit": 1000},
                headers=admin_headers(runtime),
            ).json()
            report = admin.get(
                f"{base}/_billport/compliance",
                params={"client": CLIENT_ID},
                headers=admin_headers(runtime),
            ).json()
    faults = [entry for entry in log["value"] if entry.get("fault") == "429"]
    assert faults, "the scenario should have throttled at least one call"
    assert report["compliant"] is True, report
    (mine,) = report["clients"]
    assert mine["client"] == CLIENT_ID
    assert mine["retriesChecked"] >= 3  # three held polls at least, plus any throttled call
