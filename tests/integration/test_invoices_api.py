"""``GET /v1/invoices`` and ``/v1/invoices/{id}`` over the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices
from tests.support import tokens
from tests.support.factory import app_client, opened
from tests.support.tokens import make_partner

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
OTHER_TENANT = "6e75cca6-0000-4000-8000-000000000002"

SEED_HEADERS = {
    "Accept": "application/json",
    "MS-RequestId": "e88d014d-ab70-41de-90a0-f7fd1797267d",
    "MS-CorrelationId": "de894e18-f027-4ac0-8b5a-34f0c222af0c",
    "X-Locale": "en-US",
    "MS-PartnerCenter-Application": "Partner Center .NET SDK Samples",
}
SEED_FILTER = (
    '{"LeftFilter":{"Field":"InvoiceDate","Value":"01/01/2023","Operator":"greater_than_or_equals"},'
    '"RightFilter":{"Field":"InvoiceDate","Value":"12/31/2023","Operator":"less_than_or_equals"},'
    '"Operator":"and"}'
)

DEEP_FILTER = '{"LeftFilter":' * 40 + "{}" + ',"RightFilter":{},"Operator":"and"}' * 40

OFFICE = '[{"invoiceLineItemType": "billing_line_items", "billingProvider": "office"}]'
ONE_TIME = '[{"invoiceLineItemType": "billing_line_items", "billingProvider": "one_time"}]'


@dataclass(frozen=True)
class Row:
    invoice_id: str
    when: datetime
    commerce: str = "legacy"
    total: str = "100.00"
    amends_of: str | None = None
    document_type: str = "invoice"
    tenant_id: str = TENANT

    def values(self) -> dict[str, Any]:
        recurring = self.commerce == "legacy"
        return {
            "tenant_id": self.tenant_id,
            "invoice_id": self.invoice_id,
            "invoice_date": self.when,
            "billing_period_start": datetime(self.when.year, self.when.month, 1, tzinfo=UTC),
            "billing_period_end": self.when,
            "total_charges": self.total,
            "paid_amount": "0",
            "currency_code": "GBP" if recurring else "CHF",
            "currency_symbol": "£" if recurring else "CHF",
            "document_type": self.document_type,
            "invoice_type": "Recurring" if recurring else "OneTime",
            "commerce": self.commerce,
            "amends_of": self.amends_of,
            "details": OFFICE if recurring else ONE_TIME,
            "tax_receipts": '["123456"]' if recurring else "[]",
        }


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Legacy invoices of TENANT in (date, id) order; L2/L3 share a date so the id breaks the tie.
LEGACY = [
    Row("D02005YFHI", utc(2017, 1, 21), total="24606.35"),
    Row("L0000001", utc(2022, 12, 31, 23, 59, 59)),
    Row("L0000002", utc(2023, 1, 1)),
    Row("L0000003", utc(2023, 1, 1)),
    Row("L0000004", utc(2023, 12, 31, 23, 30)),
    Row("L0000005", utc(2024, 1, 1)),
]
MODERN = [
    Row("G000024130", utc(2018, 2, 8, 1, 22, 47, 603895), "modern", "586366", None, "void_note"),
    Row("M0000001", utc(2023, 6, 15, 10)),
    Row("M0000002", utc(2025, 3, 8)),
]
MODERN = [MODERN[0]] + [Row(r.invoice_id, r.when, "modern") for r in MODERN[1:]]
AMENDMENT = Row(
    "G000024131",
    utc(2018, 2, 8, 18, 44, 37, 538145),
    "modern",
    "107661.12",
    "G000024130",
    "adjustment_note",
)
# Dated in 2023 but an amendment: never listed at top level, even when the filter matches it.
AMENDMENT_2023 = Row("A0000001", utc(2023, 5, 1), "legacy", "-40.00", "L0000003", "adjustment_note")
FOREIGN = Row("X0000001", utc(2023, 3, 3), tenant_id=OTHER_TENANT)

LEGACY_IDS = [r.invoice_id for r in LEGACY]
MODERN_IDS = [r.invoice_id for r in MODERN]


def insert_fixture_data(runtime: Runtime) -> None:
    make_partner(runtime.db, TENANT, is_default=True)
    make_partner(runtime.db, OTHER_TENANT, client_id="22222222-2222-4333-8444-555555555555")
    rows = [*LEGACY, *MODERN, AMENDMENT, AMENDMENT_2023, FOREIGN]
    with runtime.db.begin() as conn:
        conn.execute(invoices.insert(), [row.values() for row in rows])


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        insert_fixture_data(runtime)
        yield runtime


def bearer(runtime: Runtime, tenant: str = TENANT, **claims: Any) -> dict[str, str]:
    return tokens.bearer(runtime, None, tenant, "partner-center", **claims)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, headers=bearer(runtime)) as test_client:
        yield test_client


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def assert_fault(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"code", "description", "data", "source"}
    assert isinstance(body["code"], int)
    assert fragment in body["description"]


# --- listing -----------------------------------------------------------------------------


def test_seed_example_request(client: TestClient) -> None:
    response = client.get("/v1/invoices?size=200&offset=0", headers=SEED_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["ms-correlationid"] == SEED_HEADERS["MS-CorrelationId"]
    assert response.headers["ms-requestid"] == SEED_HEADERS["MS-RequestId"]
    body = response.json()
    assert ids(body) == LEGACY_IDS + MODERN_IDS
    assert body["totalCount"] == len(LEGACY) + len(MODERN)
    assert body["links"] == {
        "self": {"uri": "/invoices?size=200&offset=0", "method": "GET", "headers": []}
    }
    assert body["attributes"] == {"objectType": "Collection"}
    # Exact decimal text on the wire, not a float rendering.
    assert b'"totalCharges":24606.35,' in response.content
    assert b'"totalCharges":586366,' in response.content
    assert b'"totalCharges":107661.12,' in response.content


def test_amendments_are_nested_in_their_parent(client: TestClient) -> None:
    body = client.get("/v1/invoices").json()
    assert "G000024131" not in ids(body) and "A0000001" not in ids(body)
    parent = next(item for item in body["items"] if item["id"] == "G000024130")
    assert parent["documentType"] == "void_note"
    assert parent["invoiceDate"] == "2018-02-08T01:22:47.603895Z"
    assert [a["id"] for a in parent["amendments"]] == ["G000024131"]
    amendment = parent["amendments"][0]
    assert amendment["amendsOf"] == "G000024130"
    assert amendment["documentType"] == "adjustment_note"
    assert amendment["invoiceDate"] == "2018-02-08T18:44:37.538145Z"
    assert "links" not in amendment and "pdfDownloadLink" not in amendment
    assert "links" not in amendment["invoiceDetails"][0]
    legacy_parent = next(item for item in body["items"] if item["id"] == "L0000003")
    assert [a["id"] for a in legacy_parent["amendments"]] == ["A0000001"]


def test_list_items_carry_the_full_invoice_shape(client: TestClient) -> None:
    item = client.get("/v1/invoices", params={"size": 1}).json()["items"][0]
    assert item["id"] == "D02005YFHI"
    assert item["billingPeriodStartDate"] == "2017-01-01T00:00:00Z"
    assert item["billingPeriodEndDate"] == "2017-01-21T00:00:00Z"
    assert item["pdfDownloadLink"] == "/invoices/D02005YFHI/documents/statement"
    assert item["taxReceipts"] == [
        {
            "id": "123456",
            "taxReceiptPdfDownloadLink": "/invoices/D02005YFHI/receipts/123456/documents/statement",
        }
    ]
    assert item["invoiceDetails"][0]["links"]["self"]["uri"] == (
        "/invoices/Recurring-D02005YFHI/lineitems/Office/BillingLineItems"
    )
    assert item["links"]["self"]["uri"] == "/invoices/Recurring-D02005YFHI"


def test_size_and_offset_page_legacy_invoices_only(client: TestClient) -> None:
    first = client.get("/v1/invoices?size=2&offset=0").json()
    assert ids(first) == LEGACY_IDS[:2] + MODERN_IDS
    assert first["totalCount"] == 2 + len(MODERN)
    assert first["links"]["self"]["uri"] == "/invoices?size=2&offset=0"
    assert first["links"]["next"]["uri"] == "/invoices?size=2&offset=2"

    second = client.get("/v1" + first["links"]["next"]["uri"]).json()
    assert ids(second) == LEGACY_IDS[2:4] + MODERN_IDS
    third = client.get("/v1" + second["links"]["next"]["uri"]).json()
    assert ids(third) == LEGACY_IDS[4:6] + MODERN_IDS
    assert "next" not in third["links"]  # exactly the last legacy invoice was reached


@pytest.mark.parametrize("offset", [6, 7, 1000, 2**31 - 1])
def test_offsets_past_the_legacy_invoices_still_return_modern_ones(
    client: TestClient, offset: int
) -> None:
    body = client.get(f"/v1/invoices?size=3&offset={offset}").json()
    assert ids(body) == MODERN_IDS
    assert "next" not in body["links"]


def test_default_page_size_is_200(client: TestClient) -> None:
    body = client.get("/v1/invoices").json()
    assert body["links"]["self"]["uri"] == "/invoices?size=200&offset=0"
    assert ids(body) == LEGACY_IDS + MODERN_IDS


def test_seed_compound_filter(client: TestClient) -> None:
    response = client.get("/v1/invoices", params={"size": 10, "offset": 0, "filter": SEED_FILTER})
    assert response.status_code == 200, response.text
    body = response.json()
    # 2023-01-01 through 2023-12-31 inclusive, legacy page first then modern.
    assert ids(body) == ["L0000002", "L0000003", "L0000004", "M0000001"]
    encoded = quote(SEED_FILTER, safe="")
    assert body["links"]["self"]["uri"] == f"/invoices?size=10&offset=0&filter={encoded}"


def test_filter_is_kept_in_the_next_link(client: TestClient) -> None:
    body = client.get("/v1/invoices", params={"size": 1, "filter": SEED_FILTER}).json()
    assert ids(body) == ["L0000002", "M0000001"]
    following = body["links"]["next"]["uri"]
    assert following == f"/invoices?size=1&offset=1&filter={quote(SEED_FILTER, safe='')}"
    assert ids(client.get("/v1" + following).json()) == ["L0000003", "M0000001"]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        (
            {"Field": "InvoiceDate", "Value": "01/01/2023", "Operator": "equals"},
            ["L0000002", "L0000003"],
        ),
        (
            {"Field": "invoice_date", "Value": "1/1/2023", "Operator": "Equals"},
            ["L0000002", "L0000003"],
        ),
        (
            {"Field": "InvoiceDate", "Value": "2023-01-01T00:00:00Z", "Operator": "LessThan"},
            ["D02005YFHI", "L0000001", "G000024130"],
        ),
        (
            {"Field": "InvoiceDate", "Value": "12/31/2022", "Operator": "less_than_or_equals"},
            ["D02005YFHI", "L0000001", "G000024130"],
        ),
        (
            {"Field": "InvoiceDate", "Value": "2024-01-01", "Operator": "greater_than_or_equals"},
            ["L0000005", "M0000002"],
        ),
        (
            {"Field": "InvoiceDate", "Value": "12/31/2023", "Operator": "greater_than"},
            ["L0000005", "M0000002"],
        ),
        (
            {"Field": "InvoiceDate", "Value": "2023-01-01", "Operator": "not_equals"},
            [
                "D02005YFHI",
                "L0000001",
                "L0000004",
                "L0000005",
                "G000024130",
                "M0000001",
                "M0000002",
            ],
        ),
        (
            {
                "leftFilter": {
                    "field": "InvoiceDate",
                    "value": "01/01/2018",
                    "operator": "LessThan",
                },
                "rightFilter": {
                    "field": "InvoiceDate",
                    "value": "01/01/2025",
                    "operator": "GreaterThan",
                },
                "operator": "Or",
            },
            ["D02005YFHI", "M0000002"],
        ),
    ],
)
def test_filters_run_in_sql(
    client: TestClient, filter_: dict[str, Any], expected: list[str]
) -> None:
    response = client.get("/v1/invoices", params={"filter": json.dumps(filter_)})
    assert response.status_code == 200, response.text
    assert ids(response.json()) == expected


def test_another_tenant_sees_only_its_own_invoices(client: TestClient, runtime: Runtime) -> None:
    body = client.get("/v1/invoices", headers=bearer(runtime, OTHER_TENANT)).json()
    assert ids(body) == ["X0000001"]


# --- by id -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "invoice_id",
    ["D02005YFHI", "Recurring-D02005YFHI", "recurring-D02005YFHI", "RECURRING-D02005YFHI"],
)
def test_get_legacy_invoice_by_id(client: TestClient, invoice_id: str) -> None:
    response = client.get(f"/v1/invoices/{invoice_id}", headers=SEED_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["ms-correlationid"] == SEED_HEADERS["MS-CorrelationId"]
    body = response.json()
    assert body["id"] == "D02005YFHI"
    assert body["billingPeriodStartDate"] == "2017-01-01T00:00:00Z"
    assert body["billingPeriodEndDate"] == "2017-01-21T00:00:00Z"
    assert b'"totalCharges":24606.35,' in response.content


@pytest.mark.parametrize("invoice_id", ["G000024130", "OneTime-G000024130", "onetime-G000024130"])
def test_get_modern_invoice_by_id_with_amendments(client: TestClient, invoice_id: str) -> None:
    body = client.get(f"/v1/invoices/{invoice_id}").json()
    assert body["id"] == "G000024130"
    assert body["invoiceType"] == "OneTime"
    assert [a["id"] for a in body["amendments"]] == ["G000024131"]
    assert body["billingPeriodStartDate"] == "2018-02-01T00:00:00Z"


def test_get_amendment_by_its_own_id(client: TestClient) -> None:
    body = client.get("/v1/invoices/OneTime-G000024131").json()
    assert body["id"] == "G000024131"
    assert body["amendsOf"] == "G000024130"
    assert body["documentType"] == "adjustment_note"


@pytest.mark.parametrize(
    "invoice_id",
    [
        "UNKNOWN01",
        "OneTime-D02005YFHI",  # prefix does not match the invoice's type
        "Recurring-G000024130",
        "X0000001",  # another tenant's invoice
        "Recurring-X0000001",
        "d02005yfhi",  # ids are case-sensitive; only the prefix is not
        "G" * 5000,
        "%00",
        "%C3%A9t%C3%A9",
        "a%20b",
    ],
)
def test_unknown_or_foreign_invoice_is_404(client: TestClient, invoice_id: str) -> None:
    assert_fault(client.get(f"/v1/invoices/{invoice_id}"), 404, "not found")


def test_other_tenant_gets_its_own_invoice(client: TestClient, runtime: Runtime) -> None:
    response = client.get("/v1/invoices/X0000001", headers=bearer(runtime, OTHER_TENANT))
    assert response.status_code == 200
    assert_fault(
        client.get("/v1/invoices/D02005YFHI", headers=bearer(runtime, OTHER_TENANT)),
        404,
        "not found",
    )


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("size=0", "size"),
        ("size=-1", "size"),
        ("size=201", "size"),
        ("size=abc", "size"),
        ("size=", "size"),
        ("size=1.5", "size"),
        ("size=" + "9" * 40, "size"),
        ("size=" + "9" * 5000, "size"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("offset=" + "9" * 40, "offset"),
        ("offset=2147483648", "offset"),
        ("filter=not-json", "not valid JSON"),
        ("filter=%5B%5D", "must be a JSON object"),
        ("filter=42", "must be a JSON object"),
        ("filter=%7B%7D", "missing 'Field'"),
        (
            "filter=" + quote('{"Field":"DueDate","Value":"1/1/2023","Operator":"equals"}'),
            "DueDate",
        ),
        (
            "filter=" + quote('{"Field":"InvoiceDate","Value":"1/1/2023","Operator":"like"}'),
            "'like'",
        ),
        ("filter=" + quote('{"Field":"InvoiceDate","Value":"1/1/2023","Operator":"and"}'), "'and'"),
        (
            "filter=" + quote('{"Field":"InvoiceDate","Value":"31/12/2023","Operator":"equals"}'),
            "date",
        ),
        ("filter=" + quote('{"Field":"InvoiceDate","Value":"☃","Operator":"equals"}'), "date"),
        (
            "filter="
            + quote(
                '{"LeftFilter":{"Field":"InvoiceDate","Value":"1/1/2023","Operator":"equals"},'
                '"RightFilter":{"Field":"InvoiceDate","Value":"1/1/2023","Operator":"equals"},'
                '"Operator":"equals"}'
            ),
            "'and' or 'or'",
        ),
        ("filter=" + quote('{"LeftFilter":{},"Operator":"and"}'), "RightFilter"),
        ("filter=" + "%5B" * 5_000, "nested too deeply"),
        ("filter=" + quote(DEEP_FILTER), "nested too deeply"),
    ],
)
def test_malformed_queries_are_400(client: TestClient, query: str, fragment: str) -> None:
    response = client.get(f"/v1/invoices?{query}", headers=SEED_HEADERS)
    assert_fault(response, 400, fragment)
    assert response.json()["code"] == 800002
    assert response.headers["ms-correlationid"] == SEED_HEADERS["MS-CorrelationId"]


def test_missing_token_is_401_in_the_partner_center_envelope(client: TestClient) -> None:
    response = client.get("/v1/invoices", headers={"Authorization": ""})
    assert_fault(response, 401, "")


def test_graph_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    headers = bearer(runtime, aud="https://graph.microsoft.com")
    assert client.get("/v1/invoices/D02005YFHI", headers=headers).status_code == 401


def test_openapi_documents_the_routes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    listing = schema["paths"]["/v1/invoices"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"size", "offset", "filter"}
    assert {"200", "400", "401", "403"} <= set(listing["responses"])
    by_id = schema["paths"]["/v1/invoices/{invoiceId}"]["get"]
    assert {"200", "404"} <= set(by_id["responses"])
