"""``billport invoices``' table shows each amount in its currency: symbol, separators, places."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billport.cli.invoices import as_amount, cell, money


@pytest.mark.parametrize(
    ("value", "currency", "symbol", "shown"),
    [
        (Decimal("1234.5"), "USD", "$", "$1,234.50"),
        (Decimal("-40"), "GBP", "£", "-£40.00"),
        (98765, "JPY", "¥", "¥98,765"),  # JSON integers arrive as int
        (Decimal("12.345"), "KWD", "KWD", "KWD 12.345"),  # three places; letters get a space
        (Decimal("586366"), "CHF", "CHF", "CHF 586,366.00"),
        (Decimal("0.125"), "USD", "$", "$0.125"),  # never rounded away
        (Decimal("1000000.10"), "EUR", "€", "€1,000,000.10"),
        (Decimal("0"), "JPY", "¥", "¥0"),
        ("24606.35", "usd", "", "USD 24,606.35"),  # no symbol: the code
        (Decimal("7"), "", "", "7.00"),
    ],
)
def test_amounts_are_shown_in_their_currency(
    value: Any, currency: str, symbol: str, shown: str
) -> None:
    assert money(value, currency, symbol) == shown


@pytest.mark.parametrize("value", ["n/a", "NaN", "Infinity", True, 1.5, [1]])
def test_what_is_not_an_exact_amount_is_shown_as_sent(value: Any) -> None:
    assert as_amount(value) is None
    assert money(value, "USD", "$") == str(value)


def test_a_cell_takes_the_invoices_currency_and_leaves_other_columns_alone() -> None:
    invoice = {
        "id": "G1",
        "invoiceDate": "2024-01-31T00:00:00Z",
        "currencyCode": "JPY",
        "currencySymbol": "¥",
        "totalCharges": Decimal("1200"),
        "paidAmount": None,
    }
    assert cell(invoice, "totalCharges") == "¥1,200"
    assert cell(invoice, "paidAmount") == ""
    assert cell(invoice, "invoiceDate") == "2024-01-31"
    assert cell(invoice, "currencyCode") == "JPY"
