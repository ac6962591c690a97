"""Billed aggregated usage: the rules of export_fields.json, exact sums and row shaping."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import orjson
import pytest

from billport.billing import aggregation
from billport.billing.datasets import AttributeSet, Dataset, field_names, fields
from billport.store.aggregated_rows import SQLITE_SUM, _DecimalSum

BIG = "99999999999.999999"


def test_the_rules_come_from_the_field_file() -> None:
    rules = aggregation.rules()
    assert [c.name for c in rules.columns] == list(field_names(Dataset.BILLED_AGGREGATED_USAGE))
    assert rules.sums == ("Quantity", "BillingPreTaxTotal", "PricingPreTaxTotal")
    assert {"CustomerId", "SubscriptionId", "ProductId", "SkuId", "MeterId"} <= set(rules.group_by)
    assert "UsageDate" not in field_names(Dataset.BILLED_AGGREGATED_USAGE)
    for name in ("PartnerPrice", "EffectiveUnitPrice", "PriceBenefits"):
        assert name in field_names(Dataset.BILLED_AGGREGATED_USAGE)
    assert len(rules.version) == 12


def test_one_column_list_whatever_attribute_set_is_asked() -> None:
    dataset = Dataset.BILLED_AGGREGATED_USAGE
    assert fields(dataset, AttributeSet.BASIC) == fields(dataset, AttributeSet.FULL)
    assert not dataset.attribute_sets and dataset.versions == ("beta",)
    assert (dataset.url_path, dataset.cli_name) == ("aggregatedUsage/billed",
                                                    "billed-aggregated-usage")  # fmt: skip
    assert dataset.source is Dataset.BILLED_USAGE and dataset.billed and dataset.aggregated


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"name": "X", "type": "decimal", "rule": "sum", "from": "CustomerId"}, "group key"),
        ({"name": "X", "type": "string", "rule": "median"}, "unknown rule"),
        ({"name": "X", "type": "string", "from": "Nope"}, "not a billed usage column"),
        ({"name": "X", "type": "string", "rule": "jsonList", "from": ["BenefitType"]}, "groupBy"),
        ({"name": "X", "type": "decimal", "rule": "creditedPrice", "from": "UnitPrice"}, "credit"),
    ],
)
def test_rules_that_cannot_hold_are_refused(raw: dict[str, object], problem: str) -> None:
    names = {f.name for f in fields(Dataset.BILLED_USAGE)}
    with pytest.raises(ValueError, match=problem):
        aggregation._column(raw, names, {"CustomerId", "UnitPrice"})


def test_stored_number_text_is_read_exactly() -> None:
    assert aggregation.decimal_text("1.500000") == Decimal("1.500000")
    assert aggregation.decimal_text(b"7.10833E-05") == Decimal("0.0000710833")
    assert aggregation.decimal_text('"2.50"') == Decimal("2.50")  # a number kept as a string
    assert aggregation.decimal_text('""') is None
    assert aggregation.decimal_text("null") is None
    assert aggregation.decimal_text(None) is None


def test_sums_are_exact_and_keep_the_scale() -> None:
    total = aggregation.exact_sum([Decimal(BIG)] * 3 + [None])
    assert str(total) == "299999999999.999997"  # a float sum is 299999999999.99994
    assert str(aggregation.exact_sum([Decimal("1.50"), Decimal("2")])) == "3.50"
    assert aggregation.exact_sum([]) == 0


def test_sqlite_aggregate_sums_like_python() -> None:
    con = sqlite3.connect(":memory:")
    con.create_aggregate(SQLITE_SUM, 1, _DecimalSum)
    con.execute("CREATE TABLE t (doc TEXT)")
    docs = [{"Q": orjson.Fragment(BIG)}, {"Q": orjson.Fragment("0.000001")}, {"Q": None}, {}]
    con.executemany("INSERT INTO t VALUES (?)", [(orjson.dumps(d).decode(),) for d in docs])
    (total,) = con.execute(f"SELECT {SQLITE_SUM}(doc -> '$.Q') FROM t").fetchone()
    con.close()
    assert total == "100000000000.000000"


def test_credited_price_is_exact() -> None:
    assert str(aggregation.credited(Decimal("2.500000"), Decimal(100))) == "0.000000"
    assert str(aggregation.credited(Decimal("0.104000"), Decimal(0))) == "0.104000"
    assert str(aggregation.credited(Decimal("0.104000"), Decimal(25))) == "0.078000"
    assert aggregation.credited(Decimal("1.00"), Decimal("33.3")) == Decimal("0.667")


def first_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: "" for f in fields(Dataset.BILLED_USAGE)}
    row.update(
        CustomerId="c1",
        MeterId="m1",
        UnitPrice=Decimal("2.500000"),
        EffectiveUnitPrice=Decimal("2.125000"),
        CreditPercentage=Decimal(0),
        PartnerEarnedCreditPercentage=Decimal(15),
        ChargeStartDate="2026-10-01T00:00:00Z",
        UsageDate="2026-10-05T00:00:00Z",
    )
    row.update(changes)
    return row


def test_shape_renders_the_columns_in_order() -> None:
    sums = {"Quantity": Decimal("3.000002"), "BillingPreTaxTotal": Decimal(BIG) * 2,
            "PricingPreTaxTotal": Decimal("0.000000")}  # fmt: skip
    doc = aggregation.shape(first_row(BenefitID="sp-1"), sums)
    parsed = aggregation.parse_doc(doc)
    assert list(parsed) == list(field_names(Dataset.BILLED_AGGREGATED_USAGE))
    assert b'"Quantity":3.000002' in doc and b'"PricingPreTaxTotal":0.000000' in doc
    assert b'"BillingPreTaxTotal":199999999999.999998' in doc
    assert parsed["PartnerPrice"] == parsed["EffectiveUnitPrice"] == Decimal("2.125000")
    assert parsed["PriceBenefits"] == '["sp-1"]'
    assert parsed["CustomerId"] == "c1" and parsed["ChargeStartDate"] == "2026-10-01T00:00:00Z"
    credited = aggregation.parse_doc(aggregation.shape(first_row(CreditPercentage=100), sums))
    assert credited["EffectiveUnitPrice"] == 0 and credited["PriceBenefits"] == "[]"
    missing = aggregation.parse_doc(aggregation.shape({}, sums))
    assert missing["UnitPrice"] is None and missing["EffectiveUnitPrice"] is None
