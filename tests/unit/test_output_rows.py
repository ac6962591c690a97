"""Output format selection and the exact row parser (no files)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.outputs import FORMATS, format_for
from billport.outputs.rows import (
    RowParser,
    columns_for,
    to_datetime,
    to_decimal,
    to_int,
    to_string,
)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("out.jsonl", "jsonl"),
        ("dir/x.JSONL.GZ", "jsonl.gz"),
        ("a.b.csv", "csv"),
        ("/tmp/o.parquet", "parquet"),
        ("o.duckdb", "duckdb"),
    ],
)
def test_format_for(name: str, fmt: str) -> None:
    assert format_for(name) == fmt
    assert fmt in FORMATS


@pytest.mark.parametrize("name", ["o.json", "o.gz", "o.xlsx", ".parquet", "parquet"])
def test_unknown_extensions_name_the_supported_ones(name: str) -> None:
    with pytest.raises(ValueError, match=r"\.jsonl, \.csv, \.parquet, \.duckdb"):
        format_for(name)


def test_converters() -> None:
    assert to_decimal("99999999999.999999") == Decimal("99999999999.999999")
    assert str(to_decimal(Decimal("0.060"))) == "0.060"
    assert to_decimal(7) == Decimal(7) and to_decimal("") is None and to_decimal(None) is None
    for bad in ("x", "NaN", True, [1], "Infinity"):
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert to_int("3") == 3 and to_int(Decimal("4.0")) == 4 and to_int("") is None
    with pytest.raises(ValueError):
        to_int(Decimal("1.5"))
    assert to_datetime("2026-10-01T02:00:00+02:00") == datetime(2026, 10, 1, tzinfo=UTC)
    assert to_datetime("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)
    assert to_datetime("") is None
    with pytest.raises(ValueError):
        to_datetime(20261001)
    assert to_string({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert to_string(Decimal("1.50")) == "1.50" and to_string(False) == "false"


def test_parser_maps_spellings_and_types() -> None:
    columns = columns_for(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    assert columns.names == field_names(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    parser = RowParser(Dataset.BILLED_RECONCILIATION, columns)
    row = parser.parse(b'{"customerId":"c","totalForCustomer":1.10,"orderDate":"2026-10-01"}')
    values = dict(zip(columns.names, row, strict=True))
    assert values["CustomerId"] == "c" and str(values["Total"]) == "1.10"
    assert values["OrderDate"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert values["SkuName"] is None


def test_parser_errors_name_the_field() -> None:
    parser = RowParser(Dataset.BILLED_USAGE, columns_for(Dataset.BILLED_USAGE, AttributeSet.FULL))
    with pytest.raises(ValueError, match="field 'Quantity'"):
        parser.parse(b'{"Quantity":"lots"}')
    with pytest.raises(ValueError, match="unexpected key 'Other'"):
        parser.parse(b'{"Other":1}')
    with pytest.raises(ValueError, match="invalid JSON"):
        parser.parse(b'{"Quantity":')


def test_extra_first_line_keys_become_columns() -> None:
    columns = columns_for(Dataset.BILLED_USAGE, AttributeSet.BASIC, ["partnerid", "Tags", "New"])
    assert columns.names[-2:] == ("Tags", "New")
    assert [f.type for f in columns.fields[-2:]] == ["string", "string"]
