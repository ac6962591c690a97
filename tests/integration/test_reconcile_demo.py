"""Reconcile the demo invoice G016907411 against its actual billed reconciliation export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from billport.jobs.worker import Worker
from billport.reconcile import reconcile, render_html, render_json
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, seed_demo
from tests.support.exports import download_rows
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        yield runtime


def invoice_and_rows(runtime: Runtime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with app_client(runtime) as client:
        pc = bearer(runtime, None, DEMO_TENANT, "partner-center")
        invoice = client.get(f"/v1/invoices/{DEMO_INVOICE}", headers=pc)
        assert invoice.status_code == 200, invoice.text
        graph = bearer(runtime, None, DEMO_TENANT, "graph")
        started = client.post(
            "/v1.0/reports/partners/billing/reconciliation/billed/export",
            json={"invoiceId": DEMO_INVOICE, "attributeSet": "full"},
            headers=graph,
        )
        assert started.status_code == 202, started.text
        assert Worker(runtime).run(once=True) >= 1
        op = client.get(started.headers["Location"], headers=graph).json()
        assert op["status"] == "succeeded", op
        lines = download_rows(client, op["resourceLocation"])
    # The client's reading of an invoice: amounts as floats, as any JSON library gives them.
    return invoice.json(), [json.loads(line, parse_float=Decimal) for line in lines]


def test_demo_invoice_reconciles_then_one_altered_line_is_named(runtime: Runtime) -> None:
    invoice, rows = invoice_and_rows(runtime)
    assert len(rows) > 200
    rec = reconcile(invoice, rows, Decimal("0.01"))
    assert rec.ok, rec.findings()
    assert rec.rows == len(rows) and not rec.errors and not rec.warnings
    (usd,) = rec.currencies
    assert usd.currency == invoice["currencyCode"] == "USD"
    assert usd.lines_total == sum((r["Total"] for r in rows), Decimal(0))
    assert len(rec.by_customer) > 1 and len(rec.by_charge_type) > 1

    victim = rows[len(rows) // 2]
    victim["Total"] += Decimal("1.00")
    altered = reconcile(invoice, rows, Decimal("0.01"))
    assert not altered.ok
    assert altered.currencies[0].difference == Decimal("1.00")
    (issue,) = altered.errors
    assert issue.customer_id == victim["CustomerId"]
    assert issue.line == len(rows) // 2 + 1
    findings = "\n".join(altered.findings())
    assert victim["CustomerName"] in findings and victim["CustomerId"] in findings
    # The line is named by what it is, not by its place in this export.
    day = victim["ChargeStartDate"][:10], victim["ChargeEndDate"][:10]
    assert issue.describe().startswith(
        f"invoice {DEMO_INVOICE}, customer {victim['CustomerName']} ({victim['CustomerId']}), "
        f"subscription {victim['SubscriptionId']}, order {victim['OrderId']}, "
        f'product {victim["ProductId"]} SKU {victim["SkuId"]} "{victim["SkuName"]}", '
        f"charged {day[0]} to {day[1]}, {victim['ChargeType']}: Total = Subtotal + TaxTotal"
    )
    assert json.loads(render_json(altered))["ok"] is False
    html = render_html(altered, generated_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert "MISMATCH" in html and f"<td>{victim['SubscriptionId']}</td>" in html
    assert f"<tr><th>Invoice date</th><td>{invoice['invoiceDate'][:10]}</td></tr>" in html
    period = f"{invoice['billingPeriodStartDate'][:10]} to {invoice['billingPeriodEndDate'][:10]}"
    assert f"<tr><th>Billing period</th><td>{period}</td></tr>" in html
    assert altered.partner_id == victim["PartnerId"] == DEMO_TENANT
    assert "<tr><th>Generated</th><td>2026-12-01 00:00:00 UTC</td></tr>" in html
