"""Partner Center v1 line items over the real app, on SQLite and PostgreSQL.

The rows are the ones the Graph exports serve: a listing followed through its continuation
pages equals the Graph export of the same invoice, row for row and in total.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.line_items import DECODER, graph_row
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.seed.demo import DEMO_TENANT, seed_demo_dataset
from billport.seed.world import MODERN_DETAILS, legacy_details
from billport.settings import Settings
from billport.store.tables import invoices
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer

ROWS = 7
RECON_PATH = f"/v1/invoices/OneTime-{data.MODERN}/lineitems/OneTime/BillingLineItems"
USAGE_PATH = f"/v1/invoices/OneTime-{data.MODERN}/lineitems/Marketplace/UsageLineItems"
QUERY = f"/v1/invoices/{data.MODERN}/lineitems"
BILLING = {"provider": "onetime", "invoicelineitemtype": "billinglineitems"}
OFFICE = {"provider": "office", "invoicelineitemtype": "billinglineitems"}
USAGE = {"provider": "onetime", "invoicelineitemtype": "usagelineitems"}


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime, rows=ROWS)
        with runtime.db.begin() as conn:  # the details the seeder gives such invoices
            set_invoice(conn, data.MODERN, details=MODERN_DETAILS)
            set_invoice(conn, data.LEGACY, details=legacy_details("office"))
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, headers=bearer(runtime, None, data.TENANT, "partner-center")) as c:
        yield c


def set_invoice(conn: sa.Connection, invoice_id: str, **values: Any) -> None:
    conn.execute(invoices.update().where(invoices.c.invoice_id == invoice_id).values(**values))


def before_graph(runtime: Runtime) -> None:
    """Move MODERN to January 2022: a period the v1 query form still serves."""
    with runtime.db.begin() as conn:
        set_invoice(conn, data.MODERN, billing_period_start=datetime(2022, 1, 1, tzinfo=UTC))


def follow(
    client: TestClient, url: str, params: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page from ``url`` on, following ``links.next`` and its headers: (items, pages)."""
    headers: dict[str, str] = {}
    items, pages = [], []
    for _ in range(100):
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body = DECODER.decode(response.text)
        assert body["attributes"] == {"objectType": "Collection"}
        assert body["totalCount"] == len(body["items"])
        pages.append(body)
        items += body["items"]
        following = body["links"].get("next")
        if following is None:
            assert "continuationToken" not in body
            return items, pages
        url, params = "/v1" + following["uri"], None
        headers = {h["key"]: h["value"] for h in following["headers"]}
    raise AssertionError("more than 100 pages")


def graph_export(client: TestClient, runtime: Runtime, dataset: Dataset) -> list[dict[str, Any]]:
    """The Graph export of MODERN, downloaded: its rows with exact decimals."""
    response = client.post(
        f"/v1.0/reports/partners/billing/{dataset.url_path}/export",
        json={"invoiceId": data.MODERN},
        headers=data.graph_headers(runtime),
    )
    assert response.status_code == 202, response.text
    assert Worker(runtime).run(once=True) >= 1
    op = client.get(response.headers["Location"], headers=data.graph_headers(runtime)).json()
    assert op["status"] == "succeeded", op
    lines = data.download_rows(client, op["resourceLocation"])
    return [DECODER.decode(line.decode()) for line in lines]


def total(rows: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(row[key]) for row in rows), Decimal(0))


@pytest.mark.parametrize(
    ("dataset", "params", "object_type", "provider", "total_key"),
    [
        (Dataset.BILLED_RECONCILIATION, BILLING, "OneTimeInvoiceLineItem", "one_time", "Total"),
        (Dataset.BILLED_USAGE, USAGE, "DailyRatedUsageLineItem", "marketplace",
         "BillingPreTaxTotal"),
    ],
)  # fmt: skip
def test_query_form_pages_equal_the_graph_export(
    client: TestClient,
    runtime: Runtime,
    dataset: Dataset,
    params: dict[str, str],
    object_type: str,
    provider: str,
    total_key: str,
) -> None:
    before_graph(runtime)
    items, pages = follow(client, QUERY, {**params, "currencycode": "usd", "size": 2})
    assert len(pages) == 4  # 2 + 2 + 2 + 1
    for page in pages[:-1]:  # both the top-level token and the header, as the SDKs need
        token = page["continuationToken"]
        assert page["links"]["next"]["headers"] == [{"key": "MS-ContinuationToken", "value": token}]
        assert page["links"]["next"]["uri"].endswith("&size=2&seekOperation=Next")
    assert pages[0]["links"]["self"]["uri"] == (
        f"/invoices/{data.MODERN}/lineitems?provider=onetime&invoicelineitemtype="
        f"{params['invoicelineitemtype']}&currencycode=usd&size=2"
    )
    assert {item["attributes"]["objectType"] for item in items} == {object_type}
    assert {item["billingProvider"] for item in items} == {provider}
    graph = graph_export(client, runtime, dataset)
    assert len(graph) == ROWS
    assert [graph_row(item) for item in items] == graph
    assert total([graph_row(i) for i in items], total_key) == total(graph, total_key)


def test_path_form_seek_pages_equal_the_graph_export(client: TestClient, runtime: Runtime) -> None:
    first = DECODER.decode(client.get(RECON_PATH, params={"size": 3}).text)
    assert first["links"]["next"]["uri"].endswith(
        "/lineitems/OneTime/BillingLineItems?size=3&offset=3"
    )
    token = first["continuationToken"]  # the same listing continues by token too
    rest, pages = follow_token(client, RECON_PATH + "?size=3&seekOperation=Next", token)
    assert len(pages) == 2
    items = first["items"] + rest
    graph = graph_export(client, runtime, Dataset.BILLED_RECONCILIATION)
    assert [graph_row(i) for i in items] == graph
    assert total(items, "totalForCustomer") == total(graph, "Total")


def follow_token(
    client: TestClient, url: str, token: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return follow_with(client, url, {"MS-ContinuationToken": token})


def follow_with(
    client: TestClient, url: str, headers: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    first = client.get(url, headers=headers)
    assert first.status_code == 200, first.text
    body = DECODER.decode(first.text)
    following = body["links"].get("next")
    if following is None:
        return body["items"], [body]
    assert following["uri"].endswith("seekOperation=Next")
    more, pages = follow_with(
        client, "/v1" + following["uri"], {h["key"]: h["value"] for h in following["headers"]}
    )
    return body["items"] + more, [body, *pages]


def test_offset_paging_of_the_path_form(client: TestClient, runtime: Runtime) -> None:
    items, pages = follow(client, USAGE_PATH, {"size": 3})
    assert [p["links"]["self"]["uri"].rsplit("?", 1)[1] for p in pages] == [
        "size=3&offset=0",
        "size=3&offset=3",
        "size=3&offset=6",
    ]
    assert all(p["links"]["next"]["headers"] == [] for p in pages[:-1])
    stored = data.stored_docs(
        runtime, Dataset.BILLED_USAGE, AttributeSet.FULL, invoice_id=data.MODERN
    )
    assert [graph_row(item) for item in items] == [DECODER.decode(d.decode()) for d in stored]
    beyond = client.get(USAGE_PATH, params={"size": 3, "offset": 100}).json()
    assert beyond["items"] == [] and "next" not in beyond["links"]


def test_rows_inserted_while_paging_do_not_shift_the_listing(
    client: TestClient, runtime: Runtime
) -> None:
    before_graph(runtime)
    first = client.get(QUERY, params={**BILLING, "size": 3})
    body = first.json()
    with runtime.db.begin() as conn:
        data.add_lines(conn, data.TENANT, Dataset.BILLED_RECONCILIATION, 4, invoice=data.MODERN)
    following = body["links"]["next"]
    rest, _ = follow_with(
        client, "/v1" + following["uri"], {h["key"]: h["value"] for h in following["headers"]}
    )
    listed = [i["skuName"] for i in body["items"] + rest]
    assert listed == [f"sku-{n}" for n in range(ROWS)]  # each once, none of the new rows
    fresh, _ = follow(client, QUERY, {**BILLING, "size": 3})
    assert len(fresh) == ROWS + 4  # a new listing sees them


@pytest.mark.slow
def test_page_size_defaults_to_and_is_capped_at_2000(client: TestClient, runtime: Runtime) -> None:
    before_graph(runtime)
    with runtime.db.begin() as conn:
        data.add_lines(conn, data.TENANT, Dataset.BILLED_RECONCILIATION, 2100, invoice=data.MODERN)
    for params in ({}, {"size": 5000}, {"size": 2000}):
        body = client.get(QUERY, params={**BILLING, **params}).json()
        assert body["totalCount"] == 2000
        assert body["links"]["self"]["uri"].endswith("&size=2000")
        assert "continuationToken" in body
    path = client.get(RECON_PATH, params={"size": 99999}).json()
    assert path["totalCount"] == 2000
    assert path["links"]["next"]["uri"].endswith("?size=2000&offset=2000")
    items, _ = follow(client, QUERY, {**BILLING, "size": 2000})
    assert len(items) == ROWS + 2100


def test_unbilled_billing_line_items(client: TestClient, runtime: Runtime) -> None:
    params = {**BILLING, "currencycode": "USD", "period": "Current", "size": 3}
    items, pages = follow(client, "/v1/invoices/unbilled/lineitems", params)
    assert len(pages) == 3
    assert pages[0]["links"]["self"]["uri"] == (
        "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=billinglineitems"
        "&currencycode=usd&period=current&size=3"
    )
    stored = data.stored_docs(
        runtime, Dataset.UNBILLED_RECONCILIATION, AttributeSet.FULL,
        billing_month=202611, currency="USD",
    )  # fmt: skip
    assert [graph_row(i) for i in items] == [DECODER.decode(d.decode()) for d in stored]
    previous = {**params, "currencycode": "eur", "period": "previous"}
    items, _ = follow(client, "/v1/invoices/unbilled/lineitems", previous)
    assert len(items) == 3 and {i["currency"] for i in items} == {"EUR"}


def test_legacy_listings_are_served_and_empty(client: TestClient) -> None:
    path = f"/v1/invoices/Recurring-{data.LEGACY}/lineitems/Office/BillingLineItems"
    body = client.get(path).json()
    assert body["items"] == [] and body["totalCount"] == 0
    assert body["links"]["self"]["uri"] == path[3:] + "?size=2000&offset=0"
    query = client.get(f"/v1/invoices/{data.LEGACY}/lineitems", params=BILLING)
    assert query.status_code == 404  # a recurring Office invoice has no OneTime line items


def test_every_invoice_detail_link_resolves(client: TestClient) -> None:
    listed = client.get("/v1/invoices").json()["items"]
    fetched = [client.get(f"/v1/invoices/{i['id']}").json() for i in listed]
    links = [d["links"]["self"]["uri"] for i in listed + fetched for d in i["invoiceDetails"]]
    assert len(links) == 6  # MODERN: 2 details, LEGACY: 1, in the list and by id
    for uri in links:
        response = client.get("/v1" + uri)
        assert response.status_code == 200, (uri, response.text)


def fault(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description", "data", "source"}
    assert body["code"] == {400: 800002, 404: 1000}[status]
    assert body["source"] == "PartnerFD" and body["data"] == []
    assert words.lower() in body["description"].lower(), body["description"]


def test_bad_tokens_are_partner_center_400s(client: TestClient, runtime: Runtime) -> None:
    before_graph(runtime)
    page = client.get(QUERY, params={**BILLING, "size": 2}).json()
    token = page["continuationToken"]
    next_uri = "/v1" + page["links"]["next"]["uri"]
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for bad in (tampered, token[:-3], "abc", "abc.def", "x" * 5000, token + "=="):
        fault(client.get(next_uri, headers={"MS-ContinuationToken": bad}), 400, "token")
    usage = client.get(QUERY, params={**USAGE, "size": 2}).json()["continuationToken"]
    fault(client.get(next_uri, headers={"MS-ContinuationToken": usage}), 400, "another")
    fault(client.get(next_uri), 400, "MS-ContinuationToken")
    fault(client.get(QUERY, params={**BILLING, "seekOperation": "Previous"}), 400, "only Next")


@pytest.mark.parametrize(
    ("url", "params", "status", "words"),
    [
        (QUERY, {**BILLING, "provider": "one_time"}, 400, "provider"),
        (QUERY, {"provider": "onetime"}, 400, "line item type"),
        (QUERY, {**BILLING, "invoicelineitemtype": "foo"}, 400, "line item type"),
        (QUERY, {**BILLING, "size": "0"}, 400, "size"),
        (QUERY, {**BILLING, "size": "1.5"}, 400, "size"),
        (QUERY, {**BILLING, "size": "abc"}, 400, "size"),
        (QUERY, {**BILLING, "currencycode": "EUR"}, 400, "billed in USD"),
        (QUERY, {**BILLING, "period": "last"}, 400, "period"),
        (QUERY, OFFICE, 400, "path form"),
        (QUERY, {**OFFICE, "invoicelineitemtype": "usagelineitems"}, 400, "not valid"),
        (RECON_PATH, {"offset": "-1"}, 400, "offset"),
        (QUERY, {**BILLING, "offset": "2000"}, 400, "seekOperation=Next"),
        (QUERY, {**USAGE, "hasPartnerEarnedCredit": "true"}, 400, "not supported"),
        (f"/v1/invoices/{data.MODERN}/lineitems/one_time/BillingLineItems", {}, 400, "provider"),
        (f"/v1/invoices/{data.MODERN}/lineitems/Office/BillingLineItems", {}, 404, "no office"),
        ("/v1/invoices/G000000001/lineitems", BILLING, 404, "not found"),
        ("/v1/invoices/G999999999/lineitems/OneTime/BillingLineItems", {}, 404, "not found"),
        (f"/v1/invoices/Recurring-{data.MODERN}/lineitems", BILLING, 404, "not found"),
        ("/v1/invoices/unbilled/lineitems", {**BILLING, "period": "current"}, 400, "currencycode"),
        ("/v1/invoices/unbilled/lineitems", {**BILLING, "currencycode": "usd"}, 400, "period"),
        ("/v1/invoices/unbilled/lineitems/OneTime/BillingLineItems", {}, 400, "query form"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_partner_center_envelope(
    client: TestClient, url: str, params: dict[str, str], status: int, words: str
) -> None:
    fault(client.get(url, params=params), status, words)


@pytest.mark.parametrize(
    ("url", "params", "graph"),
    [
        (QUERY, BILLING, "reconciliation/billed/export"),
        (QUERY, USAGE, "usage/billed/export"),
        (
            "/v1/invoices/unbilled/lineitems",
            {**USAGE, "currencycode": "usd", "period": "current"},
            "usage/unbilled/export",
        ),
    ],
)
def test_retired_queries_point_at_the_graph_export(
    client: TestClient, url: str, params: dict[str, str], graph: str
) -> None:
    fault(client.get(url, params=params), 400, f"/v1.0/reports/partners/billing/{graph}")


def test_query_keys_and_values_are_case_insensitive(client: TestClient, runtime: Runtime) -> None:
    before_graph(runtime)
    params = {"Provider": "OneTime", "invoiceLineItemType": "BillingLineItems", "SIZE": "3",
              "offset": "0", "hasPartnerEarnedCredit": "False"}  # fmt: skip
    items, pages = follow(client, QUERY, {**params, "currencyCode": "USD"})
    assert len(items) == ROWS and len(pages) == 3


def test_other_tenants_see_only_their_rows(runtime: Runtime) -> None:
    headers = bearer(runtime, None, data.OTHER_TENANT, "partner-center")
    with runtime.db.begin() as conn:
        set_invoice(conn, "G999999999", details=MODERN_DETAILS)
    with app_client(runtime, headers=headers) as other:
        fault(other.get(RECON_PATH), 404, "not found")
        body = other.get("/v1/invoices/G999999999/lineitems/OneTime/BillingLineItems").json()
        assert body["totalCount"] == 2
        assert {i["partnerId"] for i in body["items"]} == {data.OTHER_TENANT}


@pytest.mark.slow
def test_demo_invoice_links_resolve_and_reconcile(settings: Settings) -> None:
    """On the demo data every invoiceDetails link answers 200, and each new-commerce invoice's
    v1 reconciliation line items add up to its totalCharges."""
    with opened(settings) as demo:
        seed_demo_dataset(demo.db, demo.clock())
        with app_client(demo, headers=bearer(demo, None, DEMO_TENANT, "partner-center")) as c:
            listed = c.get("/v1/invoices").json()["items"]
            checked = 0
            for invoice in listed:
                for detail in invoice["invoiceDetails"]:
                    items, _ = follow(c, "/v1" + detail["links"]["self"]["uri"])
                    if detail["invoiceLineItemType"] == "billing_line_items" and items:
                        invoice_total = DECODER.decode(c.get(f"/v1/invoices/{invoice['id']}").text)[
                            "totalCharges"
                        ]
                        assert total(items, "totalForCustomer") == invoice_total
                        checked += 1
    assert checked >= 3
