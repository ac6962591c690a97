"""The pure parts of invoice documents: estimate links, customer totals, summaries, PDF text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billport.billing.estimates import estimate_links, parse_currency
from billport.billing.invoices import Invoice
from billport.billing.statements import customer_totals, summarize
from billport.errors import InvalidRequest
from billport.usecases.statement_pdf import pdf_text


def test_estimate_links_leave_out_what_the_v1_api_retired() -> None:
    before = estimate_links("usd", datetime(2025, 4, 20, tzinfo=UTC))
    assert [(e.kind.type, e.period) for e in before] == [
        ("daily_rated_usage", "Current"),
        ("daily_rated_usage", "Previous"),
        ("non_consumption", "Current"),
        ("non_consumption", "Previous"),
    ]
    assert before[0].uri == (
        "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems"
        "&currencycode=usd&period=current&size=2000"
    )
    after = estimate_links("usd", datetime(2025, 4, 21, tzinfo=UTC))
    assert [e.kind.type for e in after] == ["non_consumption", "non_consumption"]


@pytest.mark.parametrize("text", [None, "", "  ", "us", "usdx", "u$d", "12a"])
def test_a_currency_code_is_three_letters(text: str | None) -> None:
    with pytest.raises(InvalidRequest, match="currencyCode"):
        parse_currency(text)


def test_a_currency_code_is_read_in_any_case() -> None:
    assert parse_currency(" USD ") == parse_currency("usd") == "usd"


def test_customer_totals_add_up_exactly_and_sort_by_name() -> None:
    rows = [("b", Decimal("0.1")), ("a", Decimal("0.2")), ("b", Decimal("0.2")), ("x", Decimal(1))]
    totals = customer_totals(rows, {"a": "zeta", "b": "Alpha"})
    assert [(t.customer_id, t.customer_name, t.lines, t.total) for t in totals] == [
        ("b", "Alpha", 2, Decimal("0.3")),  # not 0.30000000000000004
        ("x", "x", 1, Decimal(1)),  # an unknown customer is named by its id
        ("a", "zeta", 1, Decimal("0.2")),
    ]


def invoice(invoice_id: str, day: int, **changes: object) -> Invoice:
    base = Invoice(
        invoice_id=invoice_id,
        invoice_date=datetime(2026, 1, day, tzinfo=UTC),
        billing_period_start=datetime(2025, 12, 1, tzinfo=UTC),
        billing_period_end=datetime(2025, 12, 31, tzinfo=UTC),
        total_charges=Decimal("100.00"),
        paid_amount=Decimal(0),
        currency_code="USD",
        currency_symbol="$",
        document_type="invoice",
        invoice_type="OneTime",
        commerce="modern",
        amends_of=None,
        details=(),
        tax_receipts=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_summaries_are_per_currency_with_details_per_type() -> None:
    documents = [
        invoice("U2", 9, paid_amount=Decimal("100.00")),
        invoice("U1", 3, invoice_type="Recurring", total_charges=Decimal("10.05")),
        invoice("E1", 5, currency_code="EUR", currency_symbol="€"),
        invoice("U3", 12, total_charges=Decimal("-4.05"), amends_of="U2"),
    ]
    usd, eur = summarize(documents)
    assert (usd.currency_code, eur.currency_code) == ("USD", "EUR")  # first invoiced first
    assert usd.balance == Decimal("6.00")  # 10.05 + (100 - 100) - 4.05
    assert usd.first_invoice_date.day == 3 and usd.latest_invoice_date.day == 12
    assert usd.last_payment_amount == Decimal("100.00")
    assert [kind for kind, _ in usd.details] == ["Recurring", "OneTime"]
    assert [part.balance for _, part in usd.details] == [Decimal("10.05"), Decimal("-4.05")]
    assert eur.balance == Decimal("100.00") and eur.last_payment_amount == 0
    assert summarize([]) == []


def test_pdf_text_keeps_what_the_core_fonts_show() -> None:
    assert pdf_text("Müller € £ – “x”") == "Müller € £ – “x”"  # all in Windows-1252
    assert pdf_text("Łódź Ōsaka Đakovo ı") == "Lódz Osaka Dakovo i"
    assert pdf_text("東京") == "??"
