"""The HTML report: header, tables equal to their charts, a flagged line marked alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from billport.reconcile import reconcile, render_html
from billport.reconcile.html import CHART_ROWS, chart_rows
from billport.reconcile.money import format_amount

GENERATED = datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC)
INVOICE = {
    "id": "G1",
    "currencyCode": "USD",
    "invoiceDate": "2024-10-08T00:00:00Z",
    "billingPeriodStartDate": "2024-09-01T00:00:00Z",
    "billingPeriodEndDate": "2024-09-30T00:00:00Z",
}


def line(customer: int, charge: str, total: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "PartnerId": "3c1a0e2b-partner",
        "CustomerId": f"c-{customer}",
        "CustomerName": f"Customer {customer:02d}",
        "ChargeType": charge,
        "InvoiceNumber": "G1",
        "SubscriptionId": f"sub-{customer}",
        "OrderId": f"order-{customer}",
        "ProductId": "CFQ7TTC0LH18",
        "SkuId": "0001",
        "ChargeStartDate": "2024-09-01T00:00:00Z",
        "ChargeEndDate": "2024-09-30T00:00:00Z",
        "Subtotal": total,
        "TaxTotal": "0.00",
        "Total": total,
        "Currency": currency,
    }


def lines() -> list[dict[str, Any]]:
    """20 customers (more than a chart shows) with two lines each, 1,000.25 to 1,019.25."""
    return [
        line(n, charge, f"{500 + n}.{'25' if charge == 'New' else '00'}")
        for n in range(20)
        for charge in ("New", "Cycle charge")
    ]


def report(data: list[dict[str, Any]], currency: str = "USD") -> tuple[Any, str]:
    total = sum((Decimal(r["Total"]) for r in data if r["Currency"] == currency), Decimal(0))
    invoice = {**INVOICE, "currencyCode": currency, "totalCharges": str(total)}
    rec = reconcile(invoice, data)
    return rec, render_html(rec, generated_at=GENERATED)


def sections(html: str) -> list[str]:
    return html.split('<section class="breakdown">')[1:]


def test_header_carries_invoice_date_period_partner_and_generation_time() -> None:
    rec, html = report(lines())
    meta = html[html.index('<table class="meta">') : html.index("</table>")]
    assert "<tr><th>Invoice date</th><td>2024-10-08</td></tr>" in meta
    assert "<tr><th>Billing period</th><td>2024-09-01 to 2024-09-30</td></tr>" in meta
    assert "<tr><th>Partner tenant</th><td>3c1a0e2b-partner</td></tr>" in meta
    assert "<tr><th>Generated</th><td>2026-12-01 09:30:05 UTC</td></tr>" in meta
    assert "<tr><th>Line items</th><td>40</td></tr>" in meta
    # Deterministic: the same input gives the same bytes; only the clock's time moves.
    assert render_html(rec, generated_at=GENERATED) == html
    later = render_html(rec, generated_at=GENERATED + timedelta(hours=1))
    assert later.replace("10:30:05", "09:30:05") == html
    naive = render_html(rec, generated_at=GENERATED.replace(tzinfo=None))
    assert naive == html  # a naive time is taken as UTC


def test_tables_hold_exactly_the_chart_data() -> None:
    rec, html = report(lines())
    customers, charges = sections(html)
    for section, shares in ((customers, rec.by_customer), (charges, rec.by_charge_type)):
        chart = re.findall(r'<tspan class="value">([^<]*)</tspan>', section)
        table = re.findall(r'<td class="n total">([^<]*)</td>', section)
        expected = [format_amount(s.total, "USD") for s in chart_rows(shares, "USD")]
        assert chart == table == expected
        bar_labels = re.findall(r'text-anchor="end">([^<]*)</text>', section)
        row_labels = re.findall(r"<tr(?: class=\"flagged\")?><td>([^<]*)</td>", section)
        assert bar_labels == row_labels
    assert len(re.findall(r'<td class="n total">', customers)) == CHART_ROWS + 1
    assert "5 others" in customers  # 20 customers: 15 bars and one for the other five
    others = sum((s.total for s in rec.by_customer[CHART_ROWS:]), Decimal(0))
    assert f'<td class="n total">{format_amount(others, "USD")}</td>' in customers
    assert re.findall(r'<td class="n total">([^<]*)</td>', charges) == ["10,195.00", "10,190.00"]


def test_a_flagged_line_is_highlighted_alone() -> None:
    data = lines()
    data[7]["Total"] = "600.00"  # customer 3's Cycle charge: Subtotal 503.00 + 0 tax
    rec, html = report(data)
    customers, charges = sections(html)
    # Tables: only the slices holding the line, and in the issue table only that line.
    assert re.findall(r'<tr class="flagged"><td>([^<]*)</td>', customers) == ["Customer 03"]
    assert re.findall(r'<tr class="flagged"><td>([^<]*)</td>', charges) == ["Cycle charge"]
    issues = html[html.index('<table class="issues">') :]
    issues = issues[: issues.index("</table>")]
    flagged_rows = re.findall(r'<tr class="flagged">(.*?)</tr>', issues)
    assert len(flagged_rows) == 1 and "<td>sub-3</td>" in flagged_rows[0]
    assert "<td>order-3</td><td>CFQ7TTC0LH18</td><td>0001</td>" in flagged_rows[0]
    assert "USD +97.00" in flagged_rows[0]
    # Charts: the bars keep their colour; one mark, the size of the line, on the flagged bar.
    assert 'fill="#cf222e"' not in re.sub(r'<(rect|tspan) class="flagged"[^>]*>', "", html)
    for section, label in ((customers, "Customer 03"), (charges, "Cycle charge")):
        (mark,) = re.findall(r'<rect class="flagged" x="(\d+)" y="(-?\d+)" width="(\d+)"', section)
        bars = re.findall(r'>([^<]*)</text><rect x="260" y="(\d+)" width="(\d+)"', section)
        (bar,) = [b for b in bars if b[0] == label]
        assert int(mark[1]) == int(bar[1]) - 2  # on that bar's row
        assert int(mark[2]) < int(bar[2])  # narrower than the slice: only the line
        assert int(mark[0]) + int(mark[2]) == 260 + int(bar[2])
    assert html.count('class="flagged"') == 2 + 2 + 2 + 1  # 2 table rows, 2 marks, 2 notes, 1 line


def test_money_in_the_report_follows_the_currency() -> None:
    yen = [line(1, "New", "123456", "JPY"), line(2, "New", "-1500", "JPY")]
    _, html = report(yen, "JPY")
    assert "<td class=n>121,956</td>" in html  # totals: no decimals for yen
    assert '<td class="n total">-1,500</td>' in html
    assert "<tr><th>Tolerance</th><td>JPY 0.01</td></tr>" in html
    euros = [line(1, "New", "1234567.80", "EUR"), line(2, "New", "-0.30", "EUR")]
    data = euros + [line(3, "New", "5.00", "USD")]
    _, html = report(data, "EUR")
    assert "<td class=n>1,234,567.50</td>" in html and '<td class="n total">-0.30</td>' in html
    assert "USD: line items total USD 5.00, invoice totalCharges USD 0.00, " in html
