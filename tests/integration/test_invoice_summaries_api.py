"""``/v1/invoices/summaries``, ``/summary`` and ``/estimates/links``, on SQLite and PostgreSQL.

Balances are checked against the store's invoice rows, added up here; the route-order tests
pin that none of these paths is read as an invoice id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices
from tests.support import tokens
from tests.support.data import DEMO_TENANT, seed_demo
from tests.support.factory import app_client, opened
from tests.support.tokens import make_partner

SUMMARY_KEYS = [
    "balanceAmount",
    "currencyCode",
    "currencySymbol",
    "accountingDate",
    "firstInvoiceCreationDate",
    "lastPaymentDate",
    "lastPaymentAmount",
    "latestInvoiceDate",
]
LINK = {"method": "GET", "headers": []}
EMPTY_TENANT = "7a0f5e1c-0000-4000-8000-00000000000e"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        make_partner(runtime.db, EMPTY_TENANT, client_id="33333333-2222-4333-8444-555555555555")
        yield runtime


def bearer(runtime: Runtime, tenant: str = DEMO_TENANT) -> dict[str, str]:
    return tokens.bearer(runtime, None, tenant, "partner-center")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, headers=bearer(runtime)) as test_client:
        yield test_client


def decimal_json(response: Any) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


def stored(runtime: Runtime, tenant: str = DEMO_TENANT) -> list[Any]:
    with runtime.db.connect() as conn:
        return list(conn.execute(sa.select(invoices).where(invoices.c.tenant_id == tenant)))


def instant(moment: Any) -> str:
    text: str = moment.replace(tzinfo=None).isoformat(
        timespec="microseconds" if moment.microsecond else "seconds"
    )
    return text + "Z"


def expected_summary(rows: list[Any]) -> dict[str, Any]:
    """The summary fields of ``rows`` (one currency), computed from the stored invoices."""
    ordered = sorted(rows, key=lambda r: (r.invoice_date, r.invoice_id))
    paid = [r for r in ordered if r.paid_amount]
    return {
        "balanceAmount": sum((r.total_charges - r.paid_amount for r in rows), Decimal(0)),
        "currencyCode": rows[0].currency_code,
        "currencySymbol": rows[0].currency_symbol,
        "accountingDate": instant(ordered[-1].invoice_date),
        "firstInvoiceCreationDate": instant(ordered[0].invoice_date),
        "lastPaymentDate": "0001-01-01T00:00:00",
        "lastPaymentAmount": paid[-1].paid_amount if paid else Decimal(0),
        "latestInvoiceDate": instant(ordered[-1].invoice_date),
    }


def test_summaries_give_the_balance_of_every_currency(client: TestClient, runtime: Runtime) -> None:
    body = decimal_json(client.get("/v1/invoices/summaries"))
    assert list(body) == ["totalCount", "items", "links", "attributes"]
    assert body["links"] == {"self": {"uri": "/invoices/summaries", **LINK}}
    assert body["attributes"] == {"objectType": "Collection"}
    rows = stored(runtime)
    currencies = {r.currency_code for r in rows}
    assert body["totalCount"] == len(body["items"]) == len(currencies) == 4
    # The account's original currency first (the sample invoice D02005YFHI of 2017, GBP).
    assert [item["currencyCode"] for item in body["items"]] == ["GBP", "CHF", "EUR", "USD"]
    for item in body["items"]:
        assert list(item) == [*SUMMARY_KEYS, "details", "links", "attributes"]
        mine = [r for r in rows if r.currency_code == item["currencyCode"]]
        assert {key: item[key] for key in SUMMARY_KEYS} == expected_summary(mine)
        assert item["links"] == {"self": {"uri": "/invoices/summary", **LINK}}
        assert item["attributes"] == {"objectType": "InvoiceSummary"}
        kinds = [detail["invoiceType"] for detail in item["details"]]
        assert kinds == [k for k in ("Recurring", "OneTime") if k in {r.invoice_type for r in mine}]
        for detail in item["details"]:
            part = detail["summary"]
            assert list(part) == [*SUMMARY_KEYS, "attributes"]
            of_type = [r for r in mine if r.invoice_type == detail["invoiceType"]]
            assert {key: part[key] for key in SUMMARY_KEYS} == expected_summary(of_type)
        parts = sum((d["summary"]["balanceAmount"] for d in item["details"]), Decimal(0))
        assert parts == item["balanceAmount"]
    usd = next(item for item in body["items"] if item["currencyCode"] == "USD")
    assert [d["invoiceType"] for d in usd["details"]] == ["Recurring", "OneTime"]
    # Exact decimal text on the wire.
    assert b'"balanceAmount":23606.35,' in client.get("/v1/invoices/summaries").content


def test_the_single_summary_is_the_first_of_the_summaries(client: TestClient) -> None:
    summaries = decimal_json(client.get("/v1/invoices/summaries"))
    for item in summaries["items"]:  # every item's self link resolves
        single = decimal_json(client.get(f"/v1{item['links']['self']['uri']}"))
        assert single == summaries["items"][0]
    assert single["currencyCode"] == "GBP"
    assert single["balanceAmount"] == Decimal("23606.35")
    assert single["lastPaymentAmount"] == Decimal("1000")


def test_a_partner_without_invoices_has_no_summary(runtime: Runtime) -> None:
    with app_client(runtime, headers=bearer(runtime, EMPTY_TENANT)) as client:
        body = decimal_json(client.get("/v1/invoices/summaries"))
        assert body["totalCount"] == 0 and body["items"] == []
        response = client.get("/v1/invoices/summary")
        assert response.status_code == 404
        assert response.json()["code"] == 1000
        assert "no invoices" in response.json()["description"]


@pytest.mark.parametrize("query", ["currencycode=usd", "currencyCode=USD", "CURRENCYCODE=Usd"])
def test_estimate_links_point_at_the_unbilled_line_items(client: TestClient, query: str) -> None:
    body = decimal_json(client.get(f"/v1/invoices/estimates/links?{query}"))
    assert list(body) == ["totalCount", "items", "attributes"]
    # At the pinned 2026 clock the v1 API no longer lists unbilled new-commerce usage, so
    # only the unbilled reconciliation links are given (tests/unit/test_estimates.py: before).
    assert body["totalCount"] == len(body["items"]) == 2
    assert body["attributes"] == {"objectType": "Collection"}
    seen = []
    for item in body["items"]:
        assert list(item) == ["type", "title", "description", "period", "link"]
        kind = {"daily_rated_usage": "usagelineitems", "non_consumption": "billinglineitems"}
        line_type = kind[item["type"]]
        assert item["link"] == {
            "uri": "/invoices/unbilled/lineitems?provider=onetime"
            f"&invoicelineitemtype={line_type}&currencycode=usd"
            f"&period={item['period'].lower()}&size=2000",
            **LINK,
        }
        seen.append((item["type"], item["period"]))
    assert seen == [("non_consumption", "Current"), ("non_consumption", "Previous")]


@pytest.mark.parametrize("query", ["", "?currencycode=", "?currencycode=us", "?currencycode=usdx"])
def test_estimate_links_need_a_currency_code(client: TestClient, query: str) -> None:
    response = client.get(f"/v1/invoices/estimates/links{query}")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 800002
    assert "currencyCode" in response.json()["description"]


def test_these_routes_are_not_read_as_invoice_ids(client: TestClient, runtime: Runtime) -> None:
    for path in ("/v1/invoices/summary", "/v1/invoices/summaries"):
        assert "balanceAmount" in str(decimal_json(client.get(path)))
    assert decimal_json(client.get("/v1/invoices/estimates/links?currencycode=eur"))["items"]
    # The invoice routes around them still answer for real ids.
    assert decimal_json(client.get("/v1/invoices/D02005YFHI"))["id"] == "D02005YFHI"
    assert client.get("/v1/invoices/estimates").status_code == 404  # no such invoice
    assert "not found" in client.get("/v1/invoices/estimates").json()["description"]
    # Without a token they are Partner Center 401s, not someone else's 404.
    with app_client(runtime) as anonymous:
        for path in ("/v1/invoices/summary", "/v1/invoices/estimates/links?currencycode=usd"):
            response = anonymous.get(path)
            assert response.status_code == 401
            assert response.json()["code"] == 800001
