"""Invoice statement and tax receipt PDFs over the demo data, on SQLite and PostgreSQL.

The PDFs are read back with pypdf; what they say is checked against the invoice JSON and
against the store's own rows, added up here independently of billport.billing.statements.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.billing.datasets import Dataset
from billport.billing.money import format_amount, format_money
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import customers, line_items
from billport.usecases.statement_pdf import pdf_text
from tests.support import tokens
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, seed_demo
from tests.support.factory import app_client, opened

OTHER_TENANT = "42c6f0aa-00c8-4d92-b4dc-7033e18810b8"  # the demo's second partner


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        yield runtime


def bearer(runtime: Runtime, tenant: str = DEMO_TENANT) -> dict[str, str]:
    return tokens.bearer(runtime, None, tenant, "partner-center")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, headers=bearer(runtime)) as test_client:
        yield test_client


def invoices_json(client: TestClient) -> list[dict[str, Any]]:
    """Every invoice of the list, amounts as exact Decimals."""
    response = client.get("/v1/invoices")
    assert response.status_code == 200
    items: list[dict[str, Any]] = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)[
        "items"
    ]
    return items


def read_pdf(response: Any) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def stored_customer_totals(
    runtime: Runtime, invoice_id: str
) -> dict[str, tuple[str, int, Decimal]]:
    """customer id -> (name, lines, total) from the store's rows, summed here."""
    query = (
        sa.select(line_items.c.customer_id, line_items.c.total, customers.c.name)
        .join(
            customers,
            sa.and_(
                customers.c.tenant_id == line_items.c.tenant_id,
                customers.c.customer_id == line_items.c.customer_id,
            ),
        )
        .where(
            line_items.c.tenant_id == DEMO_TENANT,
            line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
            line_items.c.invoice_id == invoice_id,
        )
    )
    totals: dict[str, tuple[str, int, Decimal]] = {}
    with runtime.db.connect() as conn:
        for customer_id, total, name in conn.execute(query):
            _, lines, amount = totals.get(customer_id, (name, 0, Decimal(0)))
            totals[customer_id] = (name, lines + 1, amount + total)
    return totals


def assert_fault(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"code", "description", "data", "source"}
    assert fragment in body["description"]


def test_the_statement_of_the_demo_invoice_totals_its_customers(
    client: TestClient, runtime: Runtime
) -> None:
    invoice = next(i for i in invoices_json(client) if i["id"] == DEMO_INVOICE)
    response = client.get(f"/v1{invoice['pdfDownloadLink']}", headers={"Accept": "application/pdf"})
    text = read_pdf(response)
    disposition = response.headers["content-disposition"]
    assert disposition == f"attachment; filename=Invoice_{DEMO_INVOICE}.pdf"
    assert f"Invoice statement - {DEMO_INVOICE}" in text
    assert "Contoso Cloud Runtime" in text and DEMO_TENANT in text
    assert "Billing period 2026-10-01 to 2026-10-31" in text
    expected = stored_customer_totals(runtime, DEMO_INVOICE)
    assert len(expected) == 8
    lines = text.splitlines()
    for customer_id, (name, count, total) in expected.items():
        row = next(line for line in lines if customer_id in line)
        assert row == f"{name} {customer_id} {count} {format_amount(total, 'USD')}"
    rows_sum = sum((total for _, _, total in expected.values()), Decimal(0))
    assert rows_sum == invoice["totalCharges"]  # the demo invoice reconciles
    assert f"Sum of customer totals {format_money(rows_sum, 'USD')}" in text
    assert f"Invoice total {format_money(invoice['totalCharges'], 'USD')}" in text
    assert "differ" not in text


@pytest.mark.slow  # renders every statement and receipt of the demo partner
def test_every_pdf_link_of_every_invoice_resolves_to_its_own_statement(
    client: TestClient,
) -> None:
    checked = 0
    for invoice in invoices_json(client):
        currency = invoice["currencyCode"]
        assert invoice["pdfDownloadLink"] == f"/invoices/{invoice['id']}/documents/statement"
        text = read_pdf(client.get(f"/v1{invoice['pdfDownloadLink']}"))
        assert invoice["id"] in text
        assert f"Invoice total {format_money(invoice['totalCharges'], currency)}" in text
        assert f"Paid {format_money(invoice['paidAmount'], currency)}" in text
        for amendment in invoice.get("amendments", []):
            assert amendment["id"] in text  # listed on its parent's statement
            own = read_pdf(client.get(f"/v1/invoices/{amendment['id']}/documents/statement"))
            assert f"Amends invoice {invoice['id']}" in own
        for receipt in invoice["taxReceipts"]:
            link = receipt["taxReceiptPdfDownloadLink"]
            assert link == f"/invoices/{invoice['id']}/receipts/{receipt['id']}/documents/statement"
            response = client.get(f"/v1{link}")
            receipt_text = read_pdf(response)
            assert response.headers["content-disposition"] == (
                f"attachment; filename=E-Tax-{receipt['id']}.pdf"
            )
            assert f"Tax receipt {receipt['id']} - {invoice['id']}" in receipt_text
            checked += 1
    assert checked >= 3  # the demo has receipts on legacy and modern invoices


def test_a_legacy_invoice_without_lines_says_so(client: TestClient) -> None:
    text = read_pdf(client.get("/v1/invoices/Recurring-D02005YFHI/documents/statement"))
    assert "No billed reconciliation line items are stored for this invoice" in text
    assert "Invoice total GBP 24,606.35" in text
    assert "Balance GBP 23,606.35" in text


def test_a_total_that_disagrees_with_the_rows_is_shown(
    client: TestClient, runtime: Runtime
) -> None:
    with runtime.db.begin() as conn:
        first = conn.execute(
            sa.select(sa.func.min(line_items.c.id)).where(
                line_items.c.invoice_id == DEMO_INVOICE,
                line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
            )
        ).scalar_one()
        total = conn.execute(sa.select(line_items.c.total).where(line_items.c.id == first))
        changed = total.scalar_one() + Decimal("0.01")
        conn.execute(line_items.update().where(line_items.c.id == first).values(total=changed))
    text = read_pdf(client.get(f"/v1/invoices/{DEMO_INVOICE}/documents/statement"))
    assert "The customer totals differ from the invoice total by USD +0.01." in text


def test_names_outside_the_pdf_encoding_stay_readable(client: TestClient, runtime: Runtime) -> None:
    name = "Łódź Ōsaka 東京 €"
    with runtime.db.begin() as conn:
        some = conn.execute(
            sa.select(line_items.c.customer_id).where(line_items.c.invoice_id == DEMO_INVOICE)
        ).first()
        assert some is not None
        conn.execute(customers.update().where(customers.c.customer_id == some[0]).values(name=name))
    text = read_pdf(client.get(f"/v1/invoices/{DEMO_INVOICE}/documents/statement"))
    assert pdf_text(name) == "Lódz Osaka ?? €"
    assert re.search(rf"^Lódz Osaka \?\? € {some[0]} ", text, re.MULTILINE)


NOT_FOUND = [
    ("/v1/invoices/NOPE000001/documents/statement", "Invoice 'NOPE000001' was not found."),
    ("/v1/invoices/OneTime-D02005YFHI/documents/statement", "was not found"),
    ("/v1/invoices/G041494416/documents/statement", "was not found"),  # other tenant's
    ("/v1/invoices/D02005YFHI/receipts/234567/documents/statement", "Tax receipt '234567'"),
    ("/v1/invoices/D02005YFHI/receipts/999999/documents/statement", "Tax receipt '999999'"),
    ("/v1/invoices/G000024131/receipts/234567/documents/statement", "Tax receipt"),
    ("/v1/invoices/NOPE000001/receipts/123456/documents/statement", "Invoice 'NOPE000001'"),
    ("/v1/invoices/D02005YFHI/receipts/12%2F34/documents/statement", "not found"),
]


def test_unknown_invoices_and_receipts_are_partner_center_404s(client: TestClient) -> None:
    for path, fragment in NOT_FOUND:
        assert_fault(client.get(path), 404, fragment)


def test_documents_need_a_partner_center_token(runtime: Runtime) -> None:
    with app_client(runtime) as anonymous:
        assert_fault(anonymous.get(f"/v1/invoices/{DEMO_INVOICE}/documents/statement"), 401, "")
    with app_client(runtime, headers=bearer(runtime, OTHER_TENANT)) as other:
        read_pdf(other.get("/v1/invoices/G041494416/documents/statement"))
        path = f"/v1/invoices/{DEMO_INVOICE}/documents/statement"
        assert_fault(other.get(path), 404, "was not found")


def test_the_pdf_is_the_same_for_the_same_data(client: TestClient) -> None:
    path = f"/v1/invoices/{DEMO_INVOICE}/documents/statement"
    assert client.get(path).content == client.get(path).content
