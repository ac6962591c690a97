"""Partner Center portal CSV files (billport/ingest/portal.py): the kind from the header in
any casing, required columns, exact decimals from E notation, dates, text kept as text."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.errors import InvalidRequest
from billport.ingest.files import Source
from billport.ingest.portal import (
    _decoded,
    datetime_json,
    decimal_json,
    detect,
    int_json,
    parse,
    shape_of,
    string_json,
)
from billport.ingest.reader import Reader
from billport.ingest.rows import BadRow, RowError

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
RECON = list(field_names(Dataset.BILLED_RECONCILIATION))
# The real portal file's header (spec/additions-2026.md, "Evidence from a real portal
# file"): the full usage set, BenefitId first, BenefitOrderId spelt so, plus
# PCToBCExchangeRateDate between PCToBCExchangeRate and EntitlementId.
USAGE = list(field_names(Dataset.BILLED_USAGE))
PORTAL_USAGE = ["BenefitId"] + [
    {"BenefitOrderID": "BenefitOrderId"}.get(n, n) for n in USAGE if n != "BenefitID"
]
PORTAL_USAGE.insert(PORTAL_USAGE.index("EntitlementId"), "PCToBCExchangeRateDate")


@pytest.mark.parametrize(
    "cell, scale, expected",
    [
        ("7.10833E-05", 0, "0.0000710833"),
        ("7.10833E-05", 6, "0.0000710833"),
        ("1.5", 2, "1.50"),
        ("12", 2, "12.00"),
        ("-0.125", 2, "-0.125"),  # more places than the scale: kept, never rounded
        ("1E+2", 2, "100.00"),
        ("+3.10", 0, "3.10"),
        (" 4 ", 0, "4"),
        ("", 2, "null"),
        ("0.1000000000000000055511151231257827", 0, "0.1000000000000000055511151231257827"),
    ],
)
def test_decimals_are_exact_positional_text(cell: str, scale: int, expected: str) -> None:
    text = decimal_json(cell, scale)
    assert text == expected
    if text != "null":
        assert Decimal(text) == Decimal(cell.strip())
        assert "e" not in text.lower()


@pytest.mark.parametrize("cell", ["1,5", "abc", "NaN", "Infinity", "1_000", "1.2.3", "--1"])
def test_a_bad_decimal_says_so(cell: str) -> None:
    with pytest.raises(RowError, match="not a decimal number"):
        decimal_json(cell)


def test_ints() -> None:
    assert int_json("3") == "3"
    assert int_json("3.00") == "3"
    assert int_json("") == "null"
    with pytest.raises(RowError, match="not a whole number"):
        int_json("2.5")


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("10/01/2026", "2026-10-01T00:00:00Z"),
        ("1/9/2026", "2026-01-09T00:00:00Z"),
        ("10/31/2026 11:59:59 PM", "2026-10-31T23:59:59Z"),
        ("10/31/2026 12:00:00 AM", "2026-10-31T00:00:00Z"),
        ("10/31/2026 13:05", "2026-10-31T13:05:00Z"),
        ("2026-10-01", "2026-10-01T00:00:00Z"),
        ("2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"),
        ("2026-10-01T02:00:00+02:00", "2026-10-01T00:00:00Z"),
        ("2026-10-01T00:00:00.0000000Z", "2026-10-01T00:00:00Z"),
        ("2026-10-01T00:00:00.25Z", "2026-10-01T00:00:00.25Z"),
    ],
)
def test_dates_become_graph_datetimes(cell: str, expected: str) -> None:
    assert datetime_json(cell) == json.dumps(expected)


@pytest.mark.parametrize("cell", ["13/01/2026", "02/30/2026", "2026-13-01", "yesterday", "1/1/26"])
def test_a_bad_date_says_so(cell: str) -> None:
    with pytest.raises(RowError, match="not a date"):
        datetime_json(cell)


def test_text_stays_text() -> None:
    tags = '{"env":"prod","owner":"café"}'
    assert json.loads(string_json(tags)) == tags
    assert string_json("") == '""'
    assert string_json("  padded ") == '"  padded "'


def test_the_header_says_the_kind_in_any_casing_and_with_a_bom() -> None:
    recon = detect(["\ufeff" + RECON[0].upper()] + [n.lower() for n in RECON[1:]], "r.csv")
    assert recon.dataset is Dataset.BILLED_RECONCILIATION
    assert not recon.missing and not recon.ignored
    assert [name for name, _, _ in recon.columns] == RECON
    usage = detect(PORTAL_USAGE, "u.csv")
    assert usage.dataset is Dataset.BILLED_USAGE
    assert usage.ignored == ("PCToBCExchangeRateDate",) and not usage.missing
    where = {name: index for name, index, _ in usage.columns}
    assert where["BenefitID"] == 0 and PORTAL_USAGE[where["BenefitOrderID"]] == "BenefitOrderId"


def test_columns_map_to_fields_whatever_their_order() -> None:
    header = list(reversed(RECON))
    layout = detect(header, "r.csv")
    cells = [f"v-{name}" if name.endswith("Name") else "" for name in header]
    pairs = layout.pairs(cells)
    assert list(pairs) == RECON
    assert pairs["SkuName"] == '"v-SkuName"' and pairs["Total"] == "null"


def test_missing_required_columns_are_named() -> None:
    header = [n for n in RECON if n not in ("Total", "ChargeType")]
    with pytest.raises(InvalidRequest) as caught:
        detect(header, "recon.csv")
    assert caught.value.message == (
        "recon.csv: the reconciliation file lacks required column(s): ChargeType, Total"
    )


def test_full_only_columns_may_be_missing_and_unknown_ones_are_ignored() -> None:
    basic = list(field_names(Dataset.BILLED_USAGE, AttributeSet.BASIC))
    layout = detect([*basic, "SomethingNew"], "u.csv")
    assert "Tags" in layout.missing and layout.ignored == ("SomethingNew",)
    pairs = layout.pairs(["" for _ in range(len(basic) + 1)])
    assert pairs["Tags"] == '""' and pairs["PartnerEarnedCreditPercentage"] == "null"


def test_a_header_of_something_else_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not a Partner Center invoice reconciliation"):
        detect(["Date", "Amount", "Description"], "bank.csv")
    with pytest.raises(InvalidRequest, match="appears twice"):
        detect([*RECON, "total"], "r.csv")


def test_a_bad_cell_names_its_column() -> None:
    layout = detect(RECON, "r.csv")
    cells = ["" for _ in RECON]
    cells[RECON.index("UnitPrice")] = "12,50"
    with pytest.raises(RowError) as caught:
        layout.pairs(cells)
    assert caught.value.column == "UnitPrice"
    with pytest.raises(RowError, match="cells, the header more"):
        layout.pairs(cells[:10])


def test_billed_or_unbilled_from_the_first_row_or_the_kind() -> None:
    layout = detect(RECON, "r.csv")
    billed = {"InvoiceNumber": '"G1"'}
    assert shape_of(layout, billed, None).dataset is Dataset.BILLED_RECONCILIATION
    assert shape_of(layout, {"InvoiceNumber": '""'}, None).dataset is (
        Dataset.UNBILLED_RECONCILIATION
    )
    forced = shape_of(layout, billed, Dataset.UNBILLED_RECONCILIATION)
    assert forced.dataset is Dataset.UNBILLED_RECONCILIATION


def test_bytes_are_decoded_line_by_line_bom_dropped_and_a_bad_byte_is_placed() -> None:
    raw = io.BytesIO(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,\xff\r\n")
    lines = _decoded(raw, "u.csv")
    assert next(lines) == "a,b\r\n" and next(lines) == "1,2\r\n"
    with pytest.raises(BadRow, match=r"^u\.csv, line 3: not UTF-8"):
        next(lines)


def portal_lines(pulled: list[int]) -> Iterator[str]:
    yield ",".join(RECON) + "\r\n"
    cells = {name: "" for name in RECON}
    cells.update(InvoiceNumber="G1", Currency="USD", CustomerId="c", ChargeType="New",
                 Total="1.5", ChargeStartDate="10/01/2026")  # fmt: skip
    text = ",".join(cells[name] for name in RECON) + "\r\n"
    for number in itertools.count(2):
        pulled[0] = number
        yield text


def test_a_portal_file_streams_record_by_record() -> None:
    """An endless CSV: each batch is handed on before the next record is read."""
    pulled = [0]
    reader = Reader(
        TENANT,
        lambda invoice: None,
        read_csv=lambda source, kind: parse(portal_lines(pulled), source.name, kind),
        batch_rows=40,
    )
    batches = reader.batches([Source(Path("endless.csv"), "endless.csv", csv=True)])
    for seen, batch in enumerate(itertools.islice(batches, 3), start=1):
        assert len(batch) == 40
        assert pulled[0] == seen * 40 + 1  # the header, then nothing read ahead
    (tally,) = reader.tallies.values()
    assert tally.rows == 120 and tally.shape.dataset is Dataset.BILLED_RECONCILIATION
    row = batch[0]
    assert row[2:5] == ("G1", 202610, "USD") and row[7] == "1.50"
    assert b'"ChargeStartDate":"2026-10-01T00:00:00Z"' in row[9]


@pytest.mark.parametrize(
    "text", ['a"b\\c', "tab\there\nnew", "\x00\x1f\x7f", "é ü 中 \u2028 😀", ""]
)
def test_text_is_escaped_as_orjson_writes_it(text: str) -> None:
    assert string_json(text) == orjson.dumps(text).decode()


def test_the_fast_path_and_the_checked_path_agree() -> None:
    header = [n for n in RECON if n not in ("Quantity", "ProductQualifiers")]  # full-only
    layout = detect([n.upper() for n in header], "r.csv")
    cells = [str(n) for n in range(len(header))]
    for name in ("OrderDate", "ChargeStartDate", "ChargeEndDate", "SubscriptionStartDate",
                 "SubscriptionEndDate", "PCToBCExchangeRateDate"):  # fmt: skip
        cells[header.index(name)] = "10/31/2026"
    values = layout.values(cells)
    assert values == tuple(layout.pairs(cells).values())
    assert values[RECON.index("Quantity")] == "null"
    assert values[RECON.index("ProductQualifiers")] == '""'
    assert values[RECON.index("Total")] == f"{header.index('Total')}.00"
    with pytest.raises(RowError, match="cells, the header more"):
        layout.values(cells[:5])


def test_the_first_bad_record_is_reported_even_when_a_later_one_cannot_be_converted() -> None:
    """Record 1's currency is checked when its chunk is rendered, record 2's total while
    records are collected: the import reports record 1, the first fault in the file."""
    cells = {name: "" for name in RECON}
    cells.update(InvoiceNumber="G1", Currency="US", CustomerId="c", ChargeType="New",
                 Total="1.5", ChargeStartDate="10/01/2026")  # fmt: skip
    first = ",".join(cells[name] for name in RECON) + "\r\n"
    cells.update(Currency="USD", Total="abc")
    second = ",".join(cells[name] for name in RECON) + "\r\n"
    text = [",".join(RECON) + "\r\n", first, second]
    reader = Reader(TENANT, lambda invoice: None,
                    read_csv=lambda source, kind: parse(iter(text), source.name, kind))  # fmt: skip
    with pytest.raises(BadRow) as caught:
        list(reader.batches([Source(Path("r.csv"), "r.csv", csv=True)]))
    assert (caught.value.line, caught.value.column) == (2, "Currency")
