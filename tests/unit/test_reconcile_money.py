"""The one money formatter of reconciliation reports: currency places, separators, signs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billport.reconcile.money import format_amount, format_money, minor_units


@pytest.mark.parametrize(
    ("value", "currency", "signed", "text"),
    [
        ("1234567.5", "USD", False, "USD 1,234,567.50"),
        ("0.5", "usd", True, "USD +0.50"),
        ("-1234.5", "USD", False, "USD -1,234.50"),
        ("-1234.5", "USD", True, "USD -1,234.50"),
        ("1234567.891", "EUR", False, "EUR 1,234,567.891"),  # never rounded away
        ("-98765.4", "EUR", False, "EUR -98,765.40"),
        ("1234567", "JPY", False, "JPY 1,234,567"),  # 0 decimals
        ("1234567.00", "JPY", False, "JPY 1,234,567"),
        ("-1500", "JPY", True, "JPY -1,500"),
        ("0.004", "USD", True, "USD +0.004"),  # a difference inside a tolerance stays visible
        ("-0.00", "USD", True, "USD 0.00"),  # no signed zero
        ("0", "JPY", True, "JPY 0"),
        ("1E+3", "USD", False, "USD 1,000.00"),
        ("12.3", "KWD", False, "KWD 12.300"),  # 3 decimals
        ("12", "", False, "12.00"),  # no currency: two places, no code
    ],
)
def test_format_money(value: str, currency: str, signed: bool, text: str) -> None:
    assert format_money(Decimal(value), currency, signed=signed) == text
    assert format_amount(Decimal(value), currency, signed=signed) == text.split()[-1]


def test_formatted_amount_reads_back_exactly() -> None:
    for value in ("1234567.891", "-0.004", "10", "-2500.5"):
        shown = format_amount(Decimal(value), "JPY")
        assert Decimal(shown.replace(",", "")) == Decimal(value)


def test_minor_units() -> None:
    assert [minor_units(c) for c in ("USD", "eur", "JPY", "KRW", "BHD", "XYZ")] == [
        2, 2, 0, 0, 3, 2,
    ]  # fmt: skip


@pytest.mark.parametrize("value", [1.5, Decimal("NaN"), Decimal("Infinity")])
def test_only_finite_decimals(value: object) -> None:
    with pytest.raises(ValueError, match="Decimal"):
        format_amount(value, "USD")  # type: ignore[arg-type]
