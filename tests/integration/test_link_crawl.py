"""Every link and ``Location`` in every response of the demo data answers 2xx (issue 13).

Partner Center: the invoice list (whole and paged), each invoice, the summaries and the estimate
links of each currency, and everything they link to, recursively. Graph, both /v1.0 and /beta:
every export action the app serves (found in its routes, so a new dataset is crawled as soon as
it exists), its ``Location``, the operation, the manifest, every blob with its SAS and every
``@odata.context``. Both demo partners, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices
from tests.support import tokens
from tests.support.crawl import Crawler, Link, Visit
from tests.support.data import DEMO_TENANT, seed_demo
from tests.support.factory import app_client, opened

pytestmark = pytest.mark.slow

OTHER_TENANT = "42c6f0aa-00c8-4d92-b4dc-7033e18810b8"  # the demo's second partner
EXPORT_PATH = re.compile(r"^/(v1\.0|beta)/reports/partners/billing/.+/export$")
MAX_WORKER_PASSES = 50


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        yield runtime


def newest_modern_invoice(runtime: Runtime, tenant: str) -> str:
    query = (
        sa.select(invoices.c.invoice_id)
        .where(invoices.c.tenant_id == tenant, invoices.c.commerce == "modern")
        .order_by(invoices.c.invoice_date.desc())
    )
    with runtime.db.connect() as conn:
        return str(conn.execute(query).scalars().first())


def fetcher(client: TestClient, runtime: Runtime, tenant: str) -> Any:
    """GET with the token the URL's surface needs; blob URLs carry their SAS only."""
    partner_center = tokens.bearer(runtime, None, tenant, "partner-center")
    graph = tokens.bearer(runtime, None, tenant, "graph")

    def fetch(url: str, headers: Mapping[str, str]) -> Any:
        path = urlsplit(url).path
        auth = {}
        if path.startswith("/v1/"):
            auth = partner_center
        elif path.startswith(("/v1.0/", "/beta/")):
            auth = graph
        return client.get(url, headers={**auth, **headers})

    return fetch


def export_actions(client: TestClient) -> dict[str, set[str]]:
    """Every export action the app serves (path -> body properties), from its OpenAPI."""
    actions = {}
    for path, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        if "post" in item and EXPORT_PATH.match(path):
            content = item["post"].get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            actions[path] = set(schema.get("properties", {}))
    return actions


def export_bodies(path: str, properties: set[str], invoice_id: str) -> list[dict[str, str]]:
    """Request bodies for an export action, from its declared body (else from its path)."""
    if not properties:
        billed = "/billed/" in path
        properties = {"invoiceId"} if billed else {"billingPeriod", "currencyCode"}
    base = {"attributeSet": "full"} if "attributeSet" in properties else {}
    if "invoiceId" in properties:
        return [{**base, "invoiceId": invoice_id}]
    return [
        {**base, "billingPeriod": period, "currencyCode": "USD"} for period in ("current", "last")
    ]


def start_exports(
    client: TestClient, runtime: Runtime, tenant: str, crawler: Crawler
) -> list[Link]:
    """POST every export action once per body; the ``Location`` of each 202."""
    graph = tokens.bearer(runtime, None, tenant, "graph")
    invoice_id = newest_modern_invoice(runtime, tenant)
    starts: list[Link] = []
    actions = export_actions(client)
    assert len(actions) >= 8, actions  # four datasets, two versions at least
    for path, properties in sorted(actions.items()):
        for body in export_bodies(path, properties, invoice_id):
            response = client.post(path, json=body, headers=graph)
            assert response.status_code == 202, (path, body, response.text)
            starts += crawler.seed(response, f"POST {path} {body}")
    for _ in range(MAX_WORKER_PASSES):
        if Worker(runtime).run(once=True) == 0:
            break
    else:
        raise AssertionError("the exports did not finish")
    return starts


def partner_center_starts(client: TestClient, runtime: Runtime, tenant: str) -> list[Link]:
    """Routes no response links to: the lists, paged lists, summaries, estimates per currency."""
    headers = tokens.bearer(runtime, None, tenant, "partner-center")
    summaries = client.get("/v1/invoices/summaries", headers=headers).json()
    currencies = [item["currencyCode"].lower() for item in summaries["items"]]
    paths = ["/v1/invoices", "/v1/invoices?size=2&offset=0", "/v1/invoices/summaries"]
    paths += ["/v1/invoices/summary"]
    paths += [f"/v1/invoices/estimates/links?currencycode={code}" for code in currencies]
    return [Link(path) for path in paths]


def crawl_tenant(client: TestClient, runtime: Runtime, tenant: str) -> list[Visit]:
    crawler = Crawler(fetcher(client, runtime, tenant))
    starts = partner_center_starts(client, runtime, tenant)
    starts += start_exports(client, runtime, tenant, crawler)
    return crawler.crawl(starts)


def kinds(visits: list[Visit]) -> dict[str, int]:
    """How many links of each kind were followed (so an empty crawl cannot pass)."""
    patterns = {
        "invoice": r"/v1/invoices/(Recurring|OneTime)-[^/]+$",
        "statement": r"/documents/statement$",
        "receipt": r"/receipts/[^/]+/documents/statement$",
        "next page": r"/v1/invoices\?size=2&offset=[1-9]",
        "operation v1.0": r"/v1\.0/reports/partners/billing/operations/",
        "operation beta": r"/beta/reports/partners/billing/operations/",
        "manifest": r"/reports/partners/billing/manifests/",
        "blob": r"/blobs/.*\?.*sig=",
        "$metadata": r"/\$metadata$",
    }
    found = {name: 0 for name in patterns}
    for visit in visits:
        for name, pattern in patterns.items():
            if re.search(pattern, urlsplit(visit.link.url)._replace(scheme="", netloc="").geturl()):
                found[name] += 1
    return found


@pytest.mark.parametrize("tenant", [DEMO_TENANT, OTHER_TENANT])
def test_every_link_of_the_demo_data_resolves(runtime: Runtime, tenant: str) -> None:
    with app_client(runtime) as client:
        visits = crawl_tenant(client, runtime, tenant)
    found = kinds(visits)
    assert all(found.values()), found  # every kind of link was reached at least once
    failed = sorted({visit.describe() for visit in visits if not visit.ok})
    assert not failed, f"{len(failed)} of {len(visits)} links failed:\n" + "\n".join(failed)
