"""Template compilation: field order, escaping, slots."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.seed.lines import USAGE_SLOTS
from billport.seed.templates import DocTemplate, render

DS = Dataset.UNBILLED_USAGE


def _template() -> DocTemplate:
    names = field_names(DS)
    raw = {name: "x" for name in names if name not in {slot.name for slot in USAGE_SLOTS}}
    raw["CustomerName"] = 'Müller "100%" \\ AG'
    raw["UnitPrice"] = "12.345600"
    raw["ChargeStartDate"] = "2026-11-01T00:00:00Z"
    for name in ("EffectiveUnitPrice", "PCToBCExchangeRate", "PartnerEarnedCreditPercentage",
                 "CreditPercentage"):  # fmt: skip
        raw[name] = "0"
    return DocTemplate.build(DS, raw)


def test_compiled_docs_are_compact_ordered_json() -> None:
    compiled = _template().compile(USAGE_SLOTS)
    scope = (b"G000000001", b"2026-10-01T00:00:00Z", b"2026-11-30T00:00:00Z")
    full, basic = compiled.docs((b"2026-11-03T00:00:00Z", 1, 500_000, 0, 180_000, 0, 20, *scope))
    assert b" " not in full.replace(b"M\xc3\xbcller", b"").split(b'"CustomerName"')[0]
    assert not full.endswith(b"\n")
    doc = json.loads(full, parse_float=Decimal)
    assert tuple(doc) == field_names(DS, AttributeSet.FULL)
    assert tuple(json.loads(basic)) == field_names(DS, AttributeSet.BASIC)
    assert doc["CustomerName"] == 'Müller "100%" \\ AG'
    assert doc["UnitPrice"] == Decimal("12.345600") and b'"UnitPrice":12.345600' in full
    assert doc["Quantity"] == Decimal("1.500000") and doc["UsageDate"] == "2026-11-03T00:00:00Z"
    assert b'"BillingPreTaxTotal":0.180000,' in full and b'"PricingPreTaxTotal":0.000020,' in full
    assert doc["InvoiceNumber"] == "G000000001" and doc["ChargeEndDate"] == "2026-11-30T00:00:00Z"
    assert doc["ChargeStartDate"] == "2026-11-01T00:00:00Z"  # the template's value, not a slot


def test_missing_value_without_slot_is_an_error() -> None:
    with pytest.raises(KeyError):
        _template().compile(USAGE_SLOTS[:-1])


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(KeyError):
        DocTemplate.build(DS, {"NotAField": "x"})


def test_decimals_never_use_exponents() -> None:
    assert render("decimal", Decimal("1.50")) == "1.50"
    with pytest.raises(ValueError):
        render("decimal", Decimal("1E+3"))
    assert render("int", 3) == "3" and render("string", "") == '""'
