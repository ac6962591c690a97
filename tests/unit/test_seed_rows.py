"""Generated line items honour the storage contract: keys, values, decimals, dates, totals."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names, fields
from billport.billing.rounding import expected_subtotal, usage_based
from billport.seed.generator import Plan, SeedOptions, dataset_counts, make_plan, settle_invoices
from billport.seed.world import Period

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
OPTIONS = SeedOptions(seed=7, line_items=3_000, tenants=2, customers=5, months=3, batch_size=500)
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _rows(options: SeedOptions = OPTIONS) -> tuple[Plan, list[tuple]]:  # type: ignore[type-arg]
    plan = make_plan(options, NOW)
    rows = [row for batch in plan.batches(options.batch_size, {}) for row in batch]
    settle_invoices(plan)
    return plan, rows


@pytest.fixture(scope="module")
def generated() -> tuple[Plan, list[tuple]]:  # type: ignore[type-arg]
    return _rows()


def test_same_seed_same_bytes(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    again = _rows()[1]
    assert again == generated[1]
    other = _rows(SeedOptions(**{**OPTIONS.__dict__, "seed": 8}))[1]
    assert other[0][9] != generated[1][0][9]


def test_counts_follow_the_split(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    counts: dict[int, int] = defaultdict(int)
    for row in generated[1]:
        counts[row[1]] += 1
    assert {Dataset.from_code(c): n for c, n in counts.items()} == dataset_counts(3_000)
    assert sum(counts.values()) == 3_000


def test_docs_have_exactly_the_fields_in_order(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    for row in generated[1]:
        dataset = Dataset.from_code(row[1])
        full = json.loads(row[9], parse_float=Decimal)
        basic = json.loads(row[10], parse_float=Decimal)
        assert tuple(full) == field_names(dataset, AttributeSet.FULL)
        assert tuple(basic) == field_names(dataset, AttributeSet.BASIC)
        assert all(full[key] == value for key, value in basic.items())
        for doc in (row[9], row[10]):
            assert not re.search(rb"\s", STRING.sub(b"", doc)), "whitespace outside strings"


def test_values_have_their_declared_types(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    for row in generated[1][::7]:
        dataset = Dataset.from_code(row[1])
        doc = json.loads(row[9], parse_float=Decimal)
        for field in fields(dataset):
            value = doc[field.name]
            if field.type == "string":
                assert isinstance(value, str)
            elif field.type == "datetime":
                assert DATETIME.match(value), (field.name, value)
            elif field.type == "int":
                assert type(value) is int
            else:
                assert isinstance(value, Decimal | int), (field.name, value)


def test_decimals_are_plain_positional_text(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    def exact(text: str) -> Decimal:
        assert "e" not in text.lower(), text
        value = Decimal(text)
        assert str(value) == text  # the text round-trips: nothing lost, no exponent
        return value

    for row in generated[1]:
        json.loads(row[9], parse_float=exact, parse_int=exact)
        json.loads(row[10], parse_float=exact, parse_int=exact)


def test_reconciliation_amounts_add_up(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    for row in generated[1]:
        dataset = Dataset.from_code(row[1])
        doc = json.loads(row[9], parse_float=Decimal)
        if dataset.usage:
            assert Decimal(row[7]) == doc["BillingPreTaxTotal"]
            assert doc["BillingCurrency"] == row[4]
            continue
        assert doc["Subtotal"] + doc["TaxTotal"] == doc["Total"] == Decimal(row[7])
        assert doc["Currency"] == row[4]
        assert doc["ChargeType"] == row[6]


def test_subtotals_follow_microsofts_seat_based_rule(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    """ROUNDDOWN(EffectiveUnitPrice * PCToBCExchangeRate, 2) * BillableQuantity, every row."""
    rows = [r for r in generated[1] if not Dataset.from_code(r[1]).usage]
    recon = [json.loads(r[9], parse_float=Decimal) for r in rows]
    assert len(recon) > 500
    for doc in recon:
        assert not usage_based(doc) and doc["Subtotal"] == expected_subtotal(doc), doc
    # Prices with sub-cent digits are where rounding the unit price and the product differ.
    assert any(doc["EffectiveUnitPrice"] * 100 % 1 and doc["BillableQuantity"] > 1
               for doc in recon)  # fmt: skip


def test_dates_fall_inside_the_period(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    for row in generated[1]:
        period = Period(row[3])
        doc = json.loads(row[9])
        start, end = period.start.strftime("%Y-%m-%d"), period.end.strftime("%Y-%m-%d")
        keys = ("UsageDate",) if Dataset.from_code(row[1]).usage else ("OrderDate",)
        for key in (*keys, "ChargeStartDate", "ChargeEndDate"):
            assert start <= doc[key][:10] <= end, (key, doc[key], row[3])
        if not Dataset.from_code(row[1]).usage:
            assert doc["OrderDate"] <= doc["ChargeStartDate"] <= doc["ChargeEndDate"]


def test_billed_rows_belong_to_modern_invoices(generated: tuple[Plan, list[tuple]]) -> None:  # type: ignore[type-arg]
    plan, rows = generated
    by_id = {(i.tenant_id, i.invoice_id): i for i in plan.invoices}
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        doc = json.loads(row[9], parse_float=Decimal)
        if not Dataset.from_code(row[1]).billed:
            assert row[2] is None and doc["InvoiceNumber"] == ""
            assert row[3] in (202610, 202611)
            continue
        invoice = by_id[(row[0], row[2])]
        assert invoice.commerce == "modern" and doc["InvoiceNumber"] == invoice.invoice_id
        assert row[3] == invoice.period.month and row[4] == invoice.currency
        if not Dataset.from_code(row[1]).usage:
            sums[(row[0], row[2])] += Decimal(row[7])
    for key, invoice in by_id.items():
        if invoice.commerce == "modern":
            assert invoice.total_charges == sums[key]
            assert invoice.invoice_date > invoice.period.next_start
            assert re.fullmatch(r"G\d{9}", invoice.invoice_id)
        else:
            assert key not in sums
