"""Reconciliation on hand-made rows: totals per currency, breakdowns, the line that differs."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

from billport.reconcile import reconcile, render_html, render_json, render_table

INVOICE = {"id": "G1", "totalCharges": 33.0, "currencyCode": "USD"}
GENERATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def line(customer: str, charge: str, subtotal: str, tax: str, total: str, **extra: Any) -> dict:
    return {
        "CustomerId": f"id-{customer}",
        "CustomerName": customer,
        "ChargeType": charge,
        "InvoiceNumber": "G1",
        "Subtotal": subtotal,
        "TaxTotal": tax,
        "Total": total,
        "Currency": "USD",
        "EffectiveUnitPrice": "5.000000",
        "BillableQuantity": str(Decimal(subtotal) / 5),
        "SubscriptionId": f"sub-{customer}-{charge}",
        "OrderId": f"order-{customer}",
        "ProductId": "CFQ7TTC0LH18",
        "SkuId": "0001",
        "SkuName": "Microsoft 365 Business Basic",
        "ChargeStartDate": "2024-09-01T00:00:00Z",
        "ChargeEndDate": "2024-09-30T00:00:00Z",
        **extra,
    }


def rows() -> list[dict]:
    return [
        line("Fabrikam", "New", "10.00", "1.00", "11.00"),
        line("Fabrikam", "Cycle charge", "10.00", "1.00", "11.00"),
        line("Contoso", "Cycle charge", "10.00", "1.00", "11.00"),
    ]


def test_matching_invoice_is_ok_with_breakdowns() -> None:
    rec = reconcile(INVOICE, rows(), Decimal("0.01"))
    assert rec.ok and rec.rows == 3 and not rec.issues
    (usd,) = rec.currencies
    assert (usd.invoice_total, usd.lines_total, usd.difference) == (
        Decimal(33), Decimal("33.00"), Decimal(0),
    )  # fmt: skip
    assert [(s.label, s.total, s.lines) for s in rec.by_customer] == [
        ("Fabrikam", Decimal("22.00"), 2), ("Contoso", Decimal("11.00"), 1),
    ]  # fmt: skip
    assert [(s.key, s.total) for s in rec.by_charge_type] == [
        ("Cycle charge", Decimal("22.00")), ("New", Decimal("11.00")),
    ]  # fmt: skip
    assert rec.findings() == []


def test_altered_total_names_the_customer() -> None:
    data = rows()
    data[2]["Total"] = "11.50"
    rec = reconcile(INVOICE, data, Decimal("0.01"))
    assert not rec.ok
    assert rec.currencies[0].difference == Decimal("0.50")
    (issue,) = rec.errors
    assert (issue.line, issue.customer_name, issue.difference) == (3, "Contoso", Decimal("0.50"))
    text = "\n".join(rec.findings())
    assert "difference USD +0.50 (tolerance USD 0.01)" in text
    assert issue.describe() == (
        "invoice G1, customer Contoso (id-Contoso), subscription sub-Contoso-Cycle charge, "
        'order order-Contoso, product CFQ7TTC0LH18 SKU 0001 "Microsoft 365 Business Basic", '
        "charged 2024-09-01 to 2024-09-30, Cycle charge: Total = Subtotal + TaxTotal: "
        "expected USD 11.00, found USD 11.50 (off by USD +0.50)"
    )
    assert "line 3" not in text  # a position in one export names nothing
    assert rec.by_customer[0].label == "Contoso" and rec.by_customer[0].flagged == 1


def test_within_tolerance_is_ok_but_line_identity_is_not() -> None:
    near = {**INVOICE, "totalCharges": "33.004"}
    assert reconcile(near, rows(), Decimal("0.01")).ok
    assert not reconcile(near, rows(), Decimal("0")).ok
    data = rows()
    data[0]["Total"] = "11.01"  # 1 cent off: inside a 0.05 tolerance, still a broken line
    rec = reconcile({**INVOICE, "totalCharges": 33.01}, data, Decimal("0.05"))
    assert rec.currencies[0].ok and not rec.ok and rec.errors[0].customer_name == "Fabrikam"


def test_total_missing_from_the_invoice_is_a_mismatch() -> None:
    data = rows()
    data.append(line("Northwind", "New", "5.00", "0.50", "5.50"))  # consistent, not invoiced
    rec = reconcile(INVOICE, data, Decimal("0.01"))
    assert not rec.ok and not rec.errors
    assert "difference USD +5.50" in rec.findings()[0]


def test_camel_case_rows_and_float_amounts() -> None:
    data = [
        {"customerId": "a", "customerName": "A", "chargeType": "New", "subtotal": 10.0,
         "taxTotal": 1.0, "totalForCustomer": 11.0, "currency": "usd"},
        {"customerid": "b", "customername": "B", "chargetype": "New", "subtotal": 20,
         "taxtotal": 2, "TOTAL": 22, "currency": "USD"},
    ]  # fmt: skip
    rec = reconcile({**INVOICE, "totalCharges": "33"}, data)
    assert rec.ok and rec.currencies[0].lines_total == Decimal("33.0")


def test_other_currency_lines_and_wrong_invoice_number() -> None:
    data = rows()
    data.append(line("Fabrikam", "New", "1.00", "0.00", "1.00", Currency="EUR"))
    data.append(line("Contoso", "New", "0.00", "0.00", "0.00", InvoiceNumber="G2"))
    rec = reconcile(INVOICE, data)
    assert [c.currency for c in rec.currencies] == ["USD", "EUR"]
    assert rec.currencies[0].ok and not rec.currencies[1].ok
    assert rec.currencies[1].invoice_total == 0
    assert rec.errors[0].check == "InvoiceNumber is the invoice" and rec.errors[0].line == 5


def test_price_check_is_a_warning() -> None:
    data = rows()
    data[1]["EffectiveUnitPrice"] = "4.000000"  # 4 x 2 = 8 != 10
    rec = reconcile(INVOICE, data)
    assert rec.ok and len(rec.warnings) == 1 and rec.warnings[0].line == 2
    assert "Subtotal = EffectiveUnitPrice x BillableQuantity" in rec.findings()[0]


def test_microsofts_rounddown_rules_are_no_warning() -> None:
    data = rows()
    # Seat-based: ROUNDDOWN(4.9985, 2) x 40 = 199.60, 0.34 below 4.9985 x 40.
    seat = {"EffectiveUnitPrice": "4.9985", "BillableQuantity": "40", "Subtotal": "199.60"}
    data[1].update(seat, TaxTotal="0.00", Total="199.60")
    data[2].update(seat, TaxTotal="0.00", Total="199.61", Subtotal="199.61")  # neither rule
    rec = reconcile({**INVOICE, "totalCharges": 410.21}, data)
    assert rec.ok and [w.line for w in rec.warnings] == [3]
    assert rec.warnings[0].check == "Subtotal = EffectiveUnitPrice x BillableQuantity"


def test_unparseable_total_is_an_error() -> None:
    data = rows()
    data[0]["Total"] = "n/a"
    rec = reconcile(INVOICE, data)
    assert not rec.ok and rec.errors[0].check == "Total is a number"


@pytest.mark.parametrize(
    "invoice", [{"id": "G1", "currencyCode": "USD"}, {"id": "G1", "totalCharges": 1}]
)
def test_invoice_needs_total_and_currency(invoice: dict) -> None:
    with pytest.raises(ValueError, match="totalCharges"):
        reconcile(invoice, [])


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        reconcile(INVOICE, [], Decimal("-1"))


def test_issue_list_is_capped_but_counted() -> None:
    data = [line("X", "New", "1.00", "0.00", "2.00") for _ in range(150)]
    rec = reconcile(INVOICE, data)
    assert len(rec.issues) == 100 and rec.issues_total == 150
    assert rec.findings()[-1] == "... and 50 more line issues"


def test_renderers() -> None:
    data = rows()
    data[2]["Total"] = "11.50"
    data[2]["CustomerName"] = "<script>alert(1)</script> & Co"
    rec = reconcile(INVOICE, data)
    parsed = json.loads(render_json(rec), parse_float=Decimal)
    assert parsed["ok"] is False and parsed["currencies"][0]["difference"] == Decimal("0.50")
    assert parsed["issues"][0]["customerName"].startswith("<script>")
    assert parsed["byCustomer"][0]["flaggedLines"] == 1

    html = render_html(rec, generated_at=GENERATED)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no assets
    assert html.count("<svg") == 2 and html.count('<div class="pair">') == 2
    assert "MISMATCH" in html
    ET.fromstring(html[html.index("<svg") : html.index("</svg>") + 6])  # well-formed SVG

    out = io.StringIO()
    render_table(rec, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "MISMATCH" in text and "customer <script>alert(1)</script> & Co (id-Contoso)" in text
    assert "USD +0.50" in text


def test_report_carries_the_invoice_dates_partner_and_each_line_identity() -> None:
    invoice = {**INVOICE, "invoiceDate": "2024-10-08T00:00:00Z",
               "billingPeriodStartDate": "2024-09-01T00:00:00Z",
               "billingPeriodEndDate": "2024-09-30T00:00:00Z"}  # fmt: skip
    data = [{**row, "PartnerId": "tenant-1"} for row in rows()]
    data[0]["Total"] = "12.00"
    rec = reconcile({**invoice, "totalCharges": 34}, data)
    assert (rec.invoice_date, rec.billing_period, rec.partner_id) == (
        "2024-10-08T00:00:00Z", "2024-09-01 to 2024-09-30", "tenant-1",
    )  # fmt: skip
    (issue,) = json.loads(render_json(rec))["issues"]
    assert {k: issue[k] for k in ("invoiceNumber", "customerId", "subscriptionId", "orderId",
                                  "productId", "skuId", "chargeStartDate")} == {
        "invoiceNumber": "G1", "customerId": "id-Fabrikam", "subscriptionId": "sub-Fabrikam-New",
        "orderId": "order-Fabrikam", "productId": "CFQ7TTC0LH18", "skuId": "0001",
        "chargeStartDate": "2024-09-01T00:00:00Z",
    }  # fmt: skip
    out = io.StringIO()
    render_table(rec, Console(file=out, width=200, color_system=None))
    assert (
        "Invoice date 2024-10-08, billing period 2024-09-01 to 2024-09-30, partner tenant "
        "tenant-1" in out.getvalue()
    )


def test_identity_of_a_bare_line() -> None:
    bare = {"Total": "x", "Currency": "USD"}
    (issue,) = reconcile({**INVOICE, "totalCharges": 0}, [bare]).errors
    assert issue.describe() == (
        "invoice G1, customer unknown, no charge type: Total is a number: expected a decimal, "
        "found 'x'"
    )
