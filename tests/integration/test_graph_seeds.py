"""The Graph requests of the seeds (shared/seeds: the billedReconciliation export pages in
v1.0 and beta, the billedUsage export page), sent byte for byte as printed there, get the
response printed there: ``202 Accepted``, no body, ``Location`` under the same version."""

from __future__ import annotations

import re
import uuid

import pytest

from billport.jobs.worker import Worker
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, opened

# (request line path, body as the seed prints it, seed's Location without its host)
SEEDS = [
    (
        "/v1.0/reports/partners/billing/reconciliation/billed/export",
        b'{\n"invoiceId": "G016907411",\n"attributeSet": "full"\n}',
        "/v1.0/reports/partners/billing/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14",
    ),
    (
        "/beta/reports/partners/billing/reconciliation/billed/export",
        b'{\n  "invoiceId": "G016907411",\n  "attributeSet": "full"\n}',
        "/beta/reports/partners/billing/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14",
    ),
    (
        "/v1.0/reports/partners/billing/usage/billed/export",
        b'{\n  "invoiceId" : "G016907411",\n  "attributeSet" : "full"\n}',
        "/v1.0/reports/partners/billing/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14",
    ),
    (  # the SDK snippets of the first seed call the namespace-qualified action
        "/v1.0/reports/partners/billing/reconciliation/billed/microsoft.graph.partners.billing.export",
        b'{"invoiceId": "G016907411", "attributeSet": "full"}',
        "/v1.0/reports/partners/billing/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14",
    ),
]


@pytest.mark.slow  # four exports end to end
def test_the_seeds_requests_get_the_seeds_responses(settings: Settings) -> None:
    assert data.MODERN == "G016907411"  # the seeds' invoice is the fixture's modern one
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        with app_client(runtime) as client:
            headers = {**data.graph_headers(runtime), "Content-Type": "application/json"}
            for path, body, location in SEEDS:
                response = client.post(path, content=body, headers=headers)
                assert response.status_code == 202 and response.reason_phrase == "Accepted"
                assert response.content == b""
                pattern = re.escape(location.rsplit("/", 1)[0]) + "/(?P<id>[0-9a-f-]{36})"
                match = re.fullmatch("http://testserver" + pattern, response.headers["Location"])
                assert match is not None, response.headers["Location"]
                uuid.UUID(match["id"])
                Worker(runtime).run(once=True)
                op = client.get(response.headers["Location"], headers=headers).json()
                assert op["status"] == "succeeded" and op["id"] == match["id"]
