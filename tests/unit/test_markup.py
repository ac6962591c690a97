"""Markup rules and re-priced rows (billing/markup.py): pure, no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billport.billing.markup import (
    Markup,
    parse_rules,
    reprice_reconciliation,
    reprice_usage,
    rules_document,
)
from billport.billing.rounding import seat_subtotal, usage_subtotal
from billport.errors import InvalidRequest

R1 = "11111111-1111-4111-8111-111111111111"
R2 = "22222222-2222-4222-8222-222222222222"
D = Decimal


def seat_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "CustomerId": "c1", "ProductId": "CFQ7TTC0LH18", "SkuId": "0001",
        "ChargeType": "Cycle charge", "TermAndBillingCycle": "One-Year commitment",
        "PricingCurrency": "EUR", "UnitPrice": D("12.40"), "EffectiveUnitPrice": D("10.54"),
        "BillableQuantity": D("7"), "Quantity": D("7"), "PCToBCExchangeRate": D("1.0836"),
        "Subtotal": D("79.94"), "TaxTotal": D("15.99"), "Total": D("95.93"),
    }  # fmt: skip
    row.update(changes)
    return row


def test_most_specific_rule_wins_then_file_order() -> None:
    rules = parse_rules(
        {
            "default": {"percent": "10"},
            "rules": [
                {"reseller": R1, "percent": "12"},
                {"reseller": R1, "product": "CFQ7TTC0LH18", "percent": "15"},
                {"reseller": R1, "customer": "C1", "percent": "17"},  # same specificity: later
                {"chargeType": "usage", "percent": "3"},
            ],
        }
    )
    assert rules.markup(R1, seat_row()).percent == D("15")  # ids compare case-insensitively
    assert rules.markup(R1, seat_row(ProductId="OTHER", CustomerId="c1")).percent == D("17")
    assert rules.markup(R1, seat_row(ProductId="OTHER", CustomerId="c2")).percent == D("12")
    assert rules.markup(R2, seat_row(ChargeType="Usage")).percent == D("3")
    assert rules.markup(R2, seat_row()).percent == D("10")  # the default
    assert parse_rules(None).markup(R2, seat_row()).identity


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be an object"),
        ({"rule": []}, "unknown key 'rule'"),
        ({"rules": [{"percent": "1", "price": "2", "currency": "USD"}]}, "exactly one of"),
        ({"rules": [{"reseller": R1}]}, "rules[0]: give exactly one of"),
        ({"rules": [{"percent": "abc"}]}, "rules[0].percent: not a decimal"),
        ({"rules": [{"percent": "-100"}]}, "above -100"),
        ({"rules": [{"price": "5"}]}, "needs the 'currency'"),
        ({"rules": [{"price": "-1", "currency": "USD"}]}, "cannot be negative"),
        ({"rules": [{"sku": "", "percent": 1}]}, "rules[0].sku"),
        ({"rules": [{"colour": "red", "percent": 1}]}, "unknown key 'colour'"),
        ({"default": {"reseller": R1, "percent": 1}}, "the default names no selectors"),
        ({"rules": [{"percent": True}]}, "a decimal number"),
        ({"rules": [{"percent": "NaN"}]}, "not a finite number"),
    ],
)
def test_bad_documents_name_the_key(document: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(document)


def test_canonical_document_keeps_decimals_as_text() -> None:
    document = rules_document(
        {"default": {"percent": 12.5}, "rules": [{"price": 7, "currency": "USD"}]}
    )
    assert document == {
        "default": {"percent": "12.5"},
        "rules": [{"price": "7", "currency": "USD"}],
    }


def test_seat_row_follows_the_seat_rule_and_keeps_the_tax_rate() -> None:
    row = seat_row()
    changed = reprice_reconciliation(row, Markup(percent=D("10")))
    assert changed["UnitPrice"] == D("13.64")
    assert changed["EffectiveUnitPrice"] == D("11.594")
    expected = seat_subtotal(D("11.594"), D("7"), D("1.0836"))
    assert changed["Subtotal"] == expected == D("87.92")  # ROUNDDOWN(11.594*1.0836, 2) * 7
    rate = D("15.99") / D("79.94")
    assert changed["TaxTotal"] == (expected * rate).quantize(D("0.01")) == D("17.59")
    assert changed["Total"] == changed["Subtotal"] + changed["TaxTotal"]


def test_usage_row_of_reconciliation_follows_the_usage_rule() -> None:
    row = seat_row(ChargeType="Usage", TermAndBillingCycle="", EffectiveUnitPrice=D("0.0123"),
                   UnitPrice=D("0.0150"), BillableQuantity=D("1234.5678"))  # fmt: skip
    changed = reprice_reconciliation(row, Markup(percent=D("20")))
    assert changed["EffectiveUnitPrice"] == D("0.01476")
    assert changed["Subtotal"] == usage_subtotal(D("0.01476"), D("1234.5678"), D("1.0836"))


def test_fixed_price_and_credits_round_toward_zero() -> None:
    credit = seat_row(BillableQuantity=D("-3"), Subtotal=D("-34.26"), TaxTotal=D("-6.85"))
    changed = reprice_reconciliation(credit, Markup(price=D("9.99")))
    assert changed["UnitPrice"] == changed["EffectiveUnitPrice"] == D("9.99")
    assert changed["Subtotal"] == D("10.82") * -3  # ROUNDDOWN(9.99 * 1.0836, 2) = 10.82
    assert changed["Total"] == changed["Subtotal"] + changed["TaxTotal"]


def test_no_markup_keeps_the_row_exactly() -> None:
    assert reprice_reconciliation(seat_row(), Markup(percent=D("0"))) == {}
    assert reprice_usage({"UnitPrice": D("1")}, Markup(percent=D("0"))) == {}


def test_usage_totals_keep_the_provider_places() -> None:
    row = {"UnitPrice": D("0.2"), "EffectiveUnitPrice": D("0.17"), "Quantity": D("3.333333"),
           "PCToBCExchangeRate": D("0.9"), "PricingPreTaxTotal": D("0.566667"),
           "BillingPreTaxTotal": D("0.510000")}  # fmt: skip
    changed = reprice_usage(row, Markup(percent=D("50")))
    assert changed["EffectiveUnitPrice"] == D("0.255")
    assert changed["PricingPreTaxTotal"] == D("0.850000")  # 0.255 * 3.333333 = 0.84999991...
    assert changed["BillingPreTaxTotal"] == D("0.765000")
    assert str(changed["BillingPreTaxTotal"]) == "0.765000"
