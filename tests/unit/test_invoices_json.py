"""Partner Center JSON shape of invoices and collections (no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from billport.billing.invoices import Invoice, InvoiceDetail, PageRequest
from billport.server.routes.invoices import (
    PartnerCenterJSONResponse,
    collection_json,
    invoice_json,
    json_instant,
    json_number,
    page_uri,
)
from billport.usecases.invoices import InvoicePage

SEED_RECURRING = Invoice(
    invoice_id="D02005YFHI",
    invoice_date=datetime(2017, 1, 21, tzinfo=UTC),
    billing_period_start=datetime(2016, 12, 21, tzinfo=UTC),
    billing_period_end=datetime(2017, 1, 20, tzinfo=UTC),
    total_charges=Decimal("24606.35"),
    paid_amount=Decimal("1000"),
    currency_code="GBP",
    currency_symbol="£",
    document_type="invoice",
    invoice_type="Recurring",
    commerce="legacy",
    amends_of=None,
    details=(InvoiceDetail("billing_line_items", "office"),),
    tax_receipts=("123456",),
)
SEED_AMENDMENT = Invoice(
    invoice_id="G000024131",
    invoice_date=datetime(2018, 2, 8, 18, 44, 37, 538145, tzinfo=UTC),
    billing_period_start=datetime(2018, 1, 1, tzinfo=UTC),
    billing_period_end=datetime(2018, 1, 31, tzinfo=UTC),
    total_charges=Decimal("107661.12"),
    paid_amount=Decimal("0"),
    currency_code="CHF",
    currency_symbol="CHF",
    document_type="adjustment_note",
    invoice_type="OneTime",
    commerce="modern",
    amends_of="G000024130",
    details=(InvoiceDetail("billing_line_items", "one_time"),),
    tax_receipts=(),
)
SEED_ONE_TIME = replace(
    SEED_AMENDMENT,
    invoice_id="G000024130",
    invoice_date=datetime(2018, 2, 8, 1, 22, 47, 603895, tzinfo=UTC),
    total_charges=Decimal("586366"),
    document_type="void_note",
    amends_of=None,
    tax_receipts=("234567",),
    amendments=(SEED_AMENDMENT,),
)


def rendered(body: object) -> dict:  # type: ignore[type-arg]
    return json.loads(PartnerCenterJSONResponse(body).body)


def test_recurring_invoice_matches_the_seed_sample() -> None:
    assert rendered(invoice_json(SEED_RECURRING)) == {
        "id": "D02005YFHI",
        "invoiceDate": "2017-01-21T00:00:00Z",
        "billingPeriodStartDate": "2016-12-21T00:00:00Z",
        "billingPeriodEndDate": "2017-01-20T00:00:00Z",
        "totalCharges": 24606.35,
        "paidAmount": 1000,
        "currencyCode": "GBP",
        "currencySymbol": "£",
        "pdfDownloadLink": "/invoices/D02005YFHI/documents/statement",
        "taxReceipts": [
            {
                "id": "123456",
                "taxReceiptPdfDownloadLink": (
                    "/invoices/D02005YFHI/receipts/123456/documents/statement"
                ),
            }
        ],
        "invoiceDetails": [
            {
                "invoiceLineItemType": "billing_line_items",
                "billingProvider": "office",
                "links": {
                    "self": {
                        "uri": "/invoices/Recurring-D02005YFHI/lineitems/Office/BillingLineItems",
                        "method": "GET",
                        "headers": [],
                    }
                },
                "attributes": {"objectType": "InvoiceDetail"},
            }
        ],
        "documentType": "invoice",
        "invoiceType": "Recurring",
        "links": {
            "self": {"uri": "/invoices/Recurring-D02005YFHI", "method": "GET", "headers": []}
        },
        "attributes": {"objectType": "Invoice"},
    }


def test_amendments_are_nested_like_the_seed_sample() -> None:
    body = rendered(invoice_json(SEED_ONE_TIME))
    assert body["invoiceDate"] == "2018-02-08T01:22:47.603895Z"
    assert body["invoiceDetails"][0]["links"]["self"]["uri"] == (
        "/invoices/OneTime-G000024130/lineitems/OneTime/BillingLineItems"
    )
    assert body["links"]["self"]["uri"] == "/invoices/OneTime-G000024130"
    assert "amendsOf" not in body
    assert body["amendments"] == [
        {
            "id": "G000024131",
            "invoiceDate": "2018-02-08T18:44:37.538145Z",
            "totalCharges": 107661.12,
            "paidAmount": 0,
            "currencyCode": "CHF",
            "currencySymbol": "CHF",
            "invoiceDetails": [
                {
                    "invoiceLineItemType": "billing_line_items",
                    "billingProvider": "one_time",
                    "attributes": {"objectType": "InvoiceDetail"},
                }
            ],
            "documentType": "adjustment_note",
            "amendsOf": "G000024130",
            "invoiceType": "OneTime",
            "attributes": {"objectType": "Invoice"},
        }
    ]
    # Key order follows the seed sample: amendments sit between details and documentType.
    assert list(body)[-5:] == ["amendments", "documentType", "invoiceType", "links", "attributes"]


def test_an_amendment_fetched_by_id_carries_amends_of() -> None:
    body = rendered(invoice_json(SEED_AMENDMENT))
    assert body["amendsOf"] == "G000024130"
    assert "amendments" not in body


@pytest.mark.parametrize(
    "text",
    ["24606.35", "0", "1000", "-40.00", "0.10", "123456789012345678901234.123456789", "1E+3"],
)
def test_amounts_keep_their_exact_decimal_text(text: str) -> None:
    raw = orjson.dumps({"a": json_number(Decimal(text))})
    assert raw == b'{"a":' + text.encode() + b"}"
    json.loads(raw)  # still valid JSON


def test_non_finite_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        json_number(Decimal("NaN"))


def test_instants_are_utc_with_z() -> None:
    assert json_instant(datetime(2017, 1, 21, tzinfo=UTC)) == "2017-01-21T00:00:00Z"
    assert json_instant(datetime(1, 1, 1, 0, 0, 0, 5, tzinfo=UTC)) == "0001-01-01T00:00:00.000005Z"


def test_page_uri_encodes_the_filter() -> None:
    assert page_uri(2, 2, None) == "/invoices?size=2&offset=2"
    assert page_uri(10, 0, '{"Field":"InvoiceDate"}') == (
        "/invoices?size=10&offset=0&filter=%7B%22Field%22%3A%22InvoiceDate%22%7D"
    )


def test_collection_envelope() -> None:
    page = InvoicePage([SEED_RECURRING, SEED_ONE_TIME], PageRequest(2, 0), None, has_more=True)
    body = rendered(collection_json(page))
    assert body["totalCount"] == 2
    assert [item["id"] for item in body["items"]] == ["D02005YFHI", "G000024130"]
    assert body["links"] == {
        "self": {"uri": "/invoices?size=2&offset=0", "method": "GET", "headers": []},
        "next": {"uri": "/invoices?size=2&offset=2", "method": "GET", "headers": []},
    }
    assert body["attributes"] == {"objectType": "Collection"}


def test_last_page_has_no_next_link() -> None:
    page = InvoicePage([], PageRequest(5, 10), None, has_more=False)
    body = rendered(collection_json(page))
    assert body == {
        "totalCount": 0,
        "items": [],
        "links": {"self": {"uri": "/invoices?size=5&offset=10", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Collection"},
    }


def test_content_type_has_charset() -> None:
    response = PartnerCenterJSONResponse({})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
