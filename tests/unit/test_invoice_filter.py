"""The Partner Center invoice filter grammar and its date semantics (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from billport.billing.invoices import (
    MAX_FILTER_DEPTH,
    Comparison,
    CompoundFilter,
    DateValue,
    FilterField,
    Logical,
    SimpleFilter,
    evaluate,
    lower,
    parse_date_value,
    parse_filter,
)
from billport.errors import InvalidFilter, InvalidRequest


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def simple(value: str = "01/01/2023", operator: str = "equals", field: str = "InvoiceDate") -> str:
    return json.dumps({"Field": field, "Value": value, "Operator": operator})


def matches(filter_text: str, moment: datetime) -> bool:
    return evaluate(lower(parse_filter(filter_text)), moment)


SEED_FILTER = (
    '{"LeftFilter":{"Field":"InvoiceDate","Value":"01/01/2023","Operator":"greater_than_or_equals"},'
    '"RightFilter":{"Field":"InvoiceDate","Value":"12/31/2023","Operator":"less_than_or_equals"},'
    '"Operator":"and"}'
)
DAY_2023 = DateValue(utc(2023, 1, 1), utc(2023, 1, 2))


# --- parsing -----------------------------------------------------------------------------


def test_seed_compound_example_parses() -> None:
    parsed = parse_filter(SEED_FILTER)
    assert parsed == CompoundFilter(
        SimpleFilter(FilterField.INVOICE_DATE, Comparison.GREATER_THAN_OR_EQUALS, DAY_2023),
        Logical.AND,
        SimpleFilter(
            FilterField.INVOICE_DATE,
            Comparison.LESS_THAN_OR_EQUALS,
            DateValue(utc(2023, 12, 31), utc(2024, 1, 1)),
        ),
    )


def test_simple_filter_parses() -> None:
    assert parse_filter(simple()) == SimpleFilter(
        FilterField.INVOICE_DATE, Comparison.EQUALS, DAY_2023
    )


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("equals", Comparison.EQUALS),
        ("Equals", Comparison.EQUALS),
        ("EQUALS", Comparison.EQUALS),
        ("not_equals", Comparison.NOT_EQUALS),
        ("NotEquals", Comparison.NOT_EQUALS),
        ("greater_than", Comparison.GREATER_THAN),
        ("GreaterThan", Comparison.GREATER_THAN),
        ("greater_than_or_equals", Comparison.GREATER_THAN_OR_EQUALS),
        ("GreaterThanOrEquals", Comparison.GREATER_THAN_OR_EQUALS),
        ("GREATER_THAN_OR_EQUALS", Comparison.GREATER_THAN_OR_EQUALS),
        ("less_than", Comparison.LESS_THAN),
        ("LessThan", Comparison.LESS_THAN),
        ("less_than_or_equals", Comparison.LESS_THAN_OR_EQUALS),
        ("LessThanOrEquals", Comparison.LESS_THAN_OR_EQUALS),
    ],
)
def test_comparison_spellings(spelling: str, expected: Comparison) -> None:
    parsed = parse_filter(simple(operator=spelling))
    assert isinstance(parsed, SimpleFilter)
    assert parsed.operator is expected


@pytest.mark.parametrize("spelling", ["and", "AND", "And", "or", "Or", "OR"])
def test_logical_spellings(spelling: str) -> None:
    text = json.dumps(
        {
            "LeftFilter": json.loads(simple()),
            "RightFilter": json.loads(simple()),
            "Operator": spelling,
        }
    )
    parsed = parse_filter(text)
    assert isinstance(parsed, CompoundFilter)
    assert parsed.operator is Logical(spelling.lower())


@pytest.mark.parametrize(
    "field", ["InvoiceDate", "invoicedate", "INVOICEDATE", "invoice_date", "Invoice_Date"]
)
def test_field_spellings(field: str) -> None:
    parsed = parse_filter(simple(field=field))
    assert isinstance(parsed, SimpleFilter)
    assert parsed.field is FilterField.INVOICE_DATE


def test_property_names_are_case_insensitive() -> None:
    lowercase = SEED_FILTER.replace("LeftFilter", "leftFilter").replace(
        "RightFilter", "rightfilter"
    )
    lowercase = lowercase.replace('"Field"', '"field"').replace('"Value"', '"VALUE"')
    lowercase = lowercase.replace('"Operator"', '"operator"')
    assert parse_filter(lowercase) == parse_filter(SEED_FILTER)


def test_compound_filters_nest() -> None:
    inner = json.loads(SEED_FILTER)
    text = json.dumps({"LeftFilter": inner, "RightFilter": json.loads(simple()), "Operator": "or"})
    parsed = parse_filter(text)
    assert isinstance(parsed, CompoundFilter)
    assert isinstance(parsed.left, CompoundFilter)


def test_double_url_encoded_filter_is_accepted() -> None:
    assert parse_filter(quote(SEED_FILTER, safe="")) == parse_filter(SEED_FILTER)


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/01/2023", DAY_2023),
        ("1/1/2023", DAY_2023),
        (" 01/01/2023 ", DAY_2023),
        ("2023-01-01", DAY_2023),
        ("12/31/2023", DateValue(utc(2023, 12, 31), utc(2024, 1, 1))),
        ("02/29/2024", DateValue(utc(2024, 2, 29), utc(2024, 3, 1))),
        ("2023-01-01T10:30:00Z", DateValue(utc(2023, 1, 1, 10, 30))),
        ("2023-01-01T10:30:00z", DateValue(utc(2023, 1, 1, 10, 30))),
        ("2023-01-01T10:30:00", DateValue(utc(2023, 1, 1, 10, 30))),
        ("2023-01-01T10:30", DateValue(utc(2023, 1, 1, 10, 30))),
        ("2023-01-01 10:30:00", DateValue(utc(2023, 1, 1, 10, 30))),
        ("2023-01-01T10:30:00+02:00", DateValue(utc(2023, 1, 1, 8, 30))),
        ("2023-01-01T10:30:00-0100", DateValue(utc(2023, 1, 1, 11, 30))),
        ("2018-02-08T22:40:37.5897767Z", DateValue(utc(2018, 2, 8, 22, 40, 37, 589776))),
        ("2018-02-08T01:22:47.603895Z", DateValue(utc(2018, 2, 8, 1, 22, 47, 603895))),
    ],
)
def test_date_values(text: str, expected: DateValue) -> None:
    assert parse_date_value(text) == expected


def test_last_representable_day_has_an_end() -> None:
    value = parse_date_value("12/31/9999")
    assert value.end is not None and value.end > value.start


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "13/01/2023",
        "02/30/2023",
        "00/10/2023",
        "01/01/23",
        "2023-13-01",
        "2023-02-30",
        "0000-01-01",
        "2023-01-01T25:00:00Z",
        "2023-01-01T10:00:00+25:00",
        "0001-01-01T00:00:00+01:00",
        "2023/01/01",
        "01-01-2023",
        "１/１/２０２３",
        "2023-01-01T10:00:00ZZ",
    ],
)
def test_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidFilter, match="not a valid date"):
        parse_date_value(text)


# --- semantics ---------------------------------------------------------------------------

NEW_YEAR_NOON = utc(2023, 1, 1, 12)
NEW_YEAR_START = utc(2023, 1, 1)
NEW_YEAR_LAST = utc(2023, 1, 1, 23, 59, 59, 999999)
DAY_BEFORE_LAST = utc(2022, 12, 31, 23, 59, 59, 999999)
DAY_AFTER = utc(2023, 1, 2)


@pytest.mark.parametrize(
    ("operator", "moment", "expected"),
    [
        ("equals", NEW_YEAR_START, True),
        ("equals", NEW_YEAR_NOON, True),
        ("equals", NEW_YEAR_LAST, True),
        ("equals", DAY_BEFORE_LAST, False),
        ("equals", DAY_AFTER, False),
        ("not_equals", NEW_YEAR_NOON, False),
        ("not_equals", DAY_BEFORE_LAST, True),
        ("not_equals", DAY_AFTER, True),
        ("greater_than", NEW_YEAR_LAST, False),
        ("greater_than", DAY_AFTER, True),
        ("greater_than_or_equals", NEW_YEAR_START, True),
        ("greater_than_or_equals", DAY_BEFORE_LAST, False),
        ("less_than", NEW_YEAR_START, False),
        ("less_than", DAY_BEFORE_LAST, True),
        ("less_than_or_equals", NEW_YEAR_LAST, True),
        ("less_than_or_equals", DAY_AFTER, False),
    ],
)
def test_a_date_value_means_the_whole_utc_day(
    operator: str, moment: datetime, expected: bool
) -> None:
    assert matches(simple("01/01/2023", operator), moment) is expected


@pytest.mark.parametrize(
    ("operator", "moment", "expected"),
    [
        ("equals", NEW_YEAR_NOON, True),
        ("equals", NEW_YEAR_START, False),
        ("not_equals", NEW_YEAR_NOON, False),
        ("not_equals", NEW_YEAR_LAST, True),
        ("greater_than", NEW_YEAR_NOON, False),
        ("greater_than", NEW_YEAR_LAST, True),
        ("greater_than_or_equals", NEW_YEAR_NOON, True),
        ("less_than", NEW_YEAR_NOON, False),
        ("less_than", NEW_YEAR_START, True),
        ("less_than_or_equals", NEW_YEAR_NOON, True),
        ("less_than_or_equals", NEW_YEAR_LAST, False),
    ],
)
def test_a_date_time_value_is_one_instant(operator: str, moment: datetime, expected: bool) -> None:
    assert matches(simple("2023-01-01T12:00:00Z", operator), moment) is expected


def test_seed_example_selects_the_year_2023_inclusive() -> None:
    assert matches(SEED_FILTER, utc(2023, 1, 1))
    assert matches(SEED_FILTER, utc(2023, 12, 31, 23, 59, 59))
    assert not matches(SEED_FILTER, utc(2022, 12, 31, 23, 59, 59))
    assert not matches(SEED_FILTER, utc(2024, 1, 1))


def test_or_matches_either_side() -> None:
    text = json.dumps(
        {
            "LeftFilter": json.loads(simple("01/01/2023", "less_than")),
            "RightFilter": json.loads(simple("12/31/2023", "greater_than")),
            "Operator": "or",
        }
    )
    assert matches(text, utc(2022, 6, 1))
    assert matches(text, utc(2024, 6, 1))
    assert not matches(text, utc(2023, 6, 1))


# --- malformed filters -------------------------------------------------------------------

LEFT = json.loads(simple())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("{", "not valid JSON"),
        ('{"Field": "InvoiceDate",}', "not valid JSON"),
        ("%7Bbroken", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('"InvoiceDate"', "must be a JSON object"),
        ("42", "must be a JSON object"),
        ("null", "must be a JSON object"),
        ("true", "must be a JSON object"),
        ("{}", "missing 'Field'"),
        ('{"Field": "InvoiceDate", "Operator": "equals"}', "missing 'Value'"),
        ('{"Field": "InvoiceDate", "Value": "01/01/2023"}', "missing 'Operator'"),
        ('{"Value": "01/01/2023", "Operator": "equals"}', "missing 'Field'"),
        (simple(field="DueDate"), "'DueDate' is not a filterable field"),
        (simple(field="TotalCharges"), "not a filterable field"),
        (simple(operator="starts_with"), "'starts_with' is not a known operator"),
        (simple(operator="gte"), "not a known operator"),
        (simple(operator="and"), "'and' combines filters"),
        (simple(operator="Or"), "'Or' combines filters"),
        (simple(value="31/12/2023"), "not a valid date"),
        (
            '{"Field": "InvoiceDate", "Value": 20230101, "Operator": "equals"}',
            "Value must be a string",
        ),
        ('{"Field": "InvoiceDate", "Value": null, "Operator": "equals"}', "Value must be a string"),
        (
            '{"Field": ["InvoiceDate"], "Value": "1/1/2023", "Operator": "equals"}',
            "Field must be a string",
        ),
        (
            '{"Field": "InvoiceDate", "Value": "1/1/2023", "Operator": 1}',
            "Operator must be a string",
        ),
        (
            '{"Field": "InvoiceDate", "Value": "1/1/2023", "Operator": "equals", "Extra": 1}',
            "unknown property 'extra'",
        ),
        (
            '{"Field": "InvoiceDate", "field": "InvoiceDate", '
            '"Value": "1/1/2023", "Operator": "equals"}',
            "property 'field' more than once",
        ),
        (
            json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT, "Operator": "equals"}),
            "is a comparison",
        ),
        (
            json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT, "Operator": "greater_than"}),
            "needs 'and' or 'or'",
        ),
        (json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT, "Operator": "xor"}), "is not known"),
        (
            json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT, "Operator": True}),
            "Operator must be",
        ),
        (json.dumps({"LeftFilter": LEFT, "Operator": "and"}), "missing 'RightFilter'"),
        (json.dumps({"RightFilter": LEFT, "Operator": "and"}), "missing 'LeftFilter'"),
        (json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT}), "missing 'Operator'"),
        (
            json.dumps({"LeftFilter": LEFT, "RightFilter": LEFT, "Operator": "and", "Field": "x"}),
            "unknown property 'field'",
        ),
        (
            json.dumps({"LeftFilter": LEFT, "RightFilter": "x", "Operator": "and"}),
            "filter.RightFilter must be",
        ),
        (
            json.dumps(
                {
                    "LeftFilter": {"Field": "Nope", "Value": "1/1/2023", "Operator": "equals"},
                    "RightFilter": LEFT,
                    "Operator": "and",
                }
            ),
            "filter.LeftFilter.Field 'Nope'",
        ),
        (
            json.dumps({"LeftFilter": None, "RightFilter": LEFT, "Operator": "and"}),
            "must be a JSON object",
        ),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_filters_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidFilter, match=message):
        parse_filter(text)


def test_invalid_filter_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse_filter("{}")


def test_depth_is_limited() -> None:
    node = LEFT
    for _ in range(MAX_FILTER_DEPTH):
        node = {"LeftFilter": node, "RightFilter": LEFT, "Operator": "and"}
    with pytest.raises(InvalidFilter, match="nested too deeply"):
        parse_filter(json.dumps(node))


def test_unicode_in_values_is_refused_cleanly() -> None:
    with pytest.raises(InvalidFilter):
        parse_filter(simple(value="😀\u0000\udc80"))
    with pytest.raises(InvalidFilter, match="not a filterable field"):
        parse_filter(simple(field="Факту́ра"))
