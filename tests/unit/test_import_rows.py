"""Import rows (billport/ingest): raw value texts kept exactly, both sets rendered, shapes
detected, bad values named, and the reader streams (memory flat in file size)."""

from __future__ import annotations

import gzip
import io
import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import orjson
import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.ingest import files
from billport.ingest.files import Source, hints_from
from billport.ingest.reader import BadRow, Reader
from billport.ingest.rows import Renderer, RowError, Shape, raw_pairs, shapes_for
from tests.support.exports import line_values, render

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
RECON_FULL = Shape(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
RECON_BASIC = Shape(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)


def line(dataset: Dataset, attribute_set: AttributeSet, n: int = 1, **values: object) -> bytes:
    return render(
        dataset, attribute_set, {**line_values(dataset, TENANT, n, "USD", "G1"), **values}
    )


def test_raw_pairs_keep_the_exact_json_text() -> None:
    text = '{ "a" : "caf\\u00e9 \\"x\\"" , "b":1.50,"c":-0.000001,"d":1E+2,"e":null,"f":"é"}'
    assert raw_pairs(text) == {
        "a": '"caf\\u00e9 \\"x\\""',
        "b": "1.50",
        "c": "-0.000001",
        "d": "1E+2",
        "e": "null",
        "f": '"é"',
    }


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[1]", "one JSON object"),
        ('{"a":1,}', "expected a field name"),
        ('{"a" 1}', "expected ':'"),
        ('{"a":{"b":1}}', "not a JSON string, number or null"),
        ('{"a":1} x', "text after"),
        ('{"a":1,"a":2}', "appears twice"),
        ('{"a":"open', "bad string"),
    ],
)
def test_malformed_lines_say_why(text: str, reason: str) -> None:
    with pytest.raises(RowError, match=reason):
        raw_pairs(text)


def test_a_full_row_keeps_its_bytes_and_renders_the_basic_set_like_the_exporter() -> None:
    full = line(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    renderer = Renderer(RECON_FULL)
    doc_full, doc_basic = renderer.docs(full, renderer.pairs(full.decode()))
    assert doc_full is full
    assert doc_basic == line(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    assert b'"UnitPrice":99999999999.999999' in doc_basic  # never through a float


def test_a_basic_row_renders_the_full_set_with_missing_fields_empty() -> None:
    basic = line(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    renderer = Renderer(RECON_BASIC)
    doc_full, doc_basic = renderer.docs(basic, renderer.pairs(basic.decode()))
    assert doc_basic is basic
    parsed = json.loads(doc_full, parse_float=Decimal)
    assert list(parsed) == list(field_names(Dataset.BILLED_RECONCILIATION))
    assert parsed["CustomerDomainName"] == ""  # text: empty
    assert parsed["Quantity"] is None  # only in the full set: null
    assert parsed["UnitPrice"] == Decimal("99999999999.999999")


@pytest.mark.parametrize(
    "column, raw, reason",
    [
        ("Quantity", '"3"', "JSON integer"),
        ("Quantity", "1.5", "JSON integer"),
        ("Total", '"1.00"', "JSON number"),
        ("Total", "true", "JSON number"),
        ("CustomerName", "12", "JSON string"),
        ("OrderDate", "20261001", "JSON string"),
    ],
)
def test_values_are_checked_against_their_field_types(column: str, raw: str, reason: str) -> None:
    row = orjson.loads(line(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL))
    row[column] = orjson.Fragment(raw)
    with pytest.raises(RowError, match=reason) as caught:
        Renderer(RECON_FULL).pairs(orjson.dumps(row).decode())
    assert caught.value.column == column


def test_missing_and_unknown_columns_are_named() -> None:
    row = orjson.loads(line(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL))
    del row["Total"]
    with pytest.raises(RowError, match="missing") as caught:
        Renderer(RECON_FULL).pairs(orjson.dumps(row).decode())
    assert caught.value.column == "Total"
    row["Total"], row["Extra"] = 1, 2
    with pytest.raises(RowError, match="not a field") as caught:
        Renderer(RECON_FULL).pairs(orjson.dumps(row).decode())
    assert caught.value.column == "Extra"


def test_shapes_come_from_the_columns_and_the_path() -> None:
    usage = frozenset(field_names(Dataset.UNBILLED_USAGE, AttributeSet.BASIC))
    assert {s.dataset for s in shapes_for(usage)} == {Dataset.BILLED_USAGE, Dataset.UNBILLED_USAGE}
    assert {s.attribute_set for s in shapes_for(usage)} == {AttributeSet.BASIC}
    assert shapes_for(frozenset({"PartnerId"})) == []
    hints = hints_from(
        "https://h/billedreconfastpath/v1/PartnerTenantId=t/BillingMonth=202610/"
        "InvoiceId=G1/InvoiceVersion=20261101000000/Fragment=basic/PartitionType=default"
    )
    assert (hints.dataset, hints.billing_month, hints.invoice_id, hints.attribute_set) == (
        Dataset.BILLED_RECONCILIATION, 202610, "G1", AttributeSet.BASIC,
    )  # fmt: skip
    assert hints_from("x/Currency=eur/part-0.json.gz").currency == "EUR"


def numbered(rows: Iterator[bytes], pulled: list[int]) -> Iterator[tuple[int, bytes]]:
    for number, row in enumerate(rows, start=1):
        pulled[0] = number
        yield number, row


def test_the_reader_streams_batches_without_holding_the_file() -> None:
    """An endless blob: each batch is handed on before the next line is read."""
    pulled = [0]
    rows = (line(Dataset.BILLED_USAGE, AttributeSet.FULL, n) for n in itertools.count())
    reader = Reader(
        TENANT, lambda invoice: 202610, read=lambda source: numbered(rows, pulled), batch_rows=50
    )
    batches = reader.batches([Source(Path("endless.json.gz"), "endless.json.gz")])
    for seen, batch in enumerate(itertools.islice(batches, 3), start=1):
        assert len(batch) == 50
        assert pulled[0] == seen * 50  # nothing read ahead
    (tally,) = reader.tallies.values()
    assert tally.rows == 3 * 50  # a count and a running hash, no rows kept


def test_a_bad_row_is_reported_with_its_file_line_and_column() -> None:
    good = line(Dataset.BILLED_USAGE, AttributeSet.FULL)
    bad = good.replace(b'"Quantity":1.5', b'"Quantity":"1.5"')
    reader = Reader(TENANT, lambda invoice: None, read=lambda source: [(1, good), (3, bad)])
    with pytest.raises(BadRow) as caught:
        list(reader.batches([Source(Path("a/b.json.gz"), "a/b.json.gz")]))
    assert caught.value.message == (
        'a/b.json.gz, line 3, column Quantity: a decimal field must be a JSON number, got "1.5"'
    )


def test_blob_lines_are_split_across_blocks_members_and_a_missing_last_newline() -> None:
    rows = [b'{"a":%d}' % n for n in range(5000)]
    text = b"\n".join(rows[:3000]) + b"\r\n\n" + b"\n".join(rows[3000:])  # no final newline
    stream = io.BytesIO(gzip.compress(text[:20000]) + gzip.compress(text[20000:]))  # 2 members
    with patch.object(files, "READ_BYTES", 512):
        got = list(files.numbered_lines(stream))
    assert [line for _, line in got] == rows
    assert got[2999] == (3000, rows[2999]) and got[3000] == (3002, rows[3000])  # blank counted


@pytest.mark.parametrize(
    "data",
    [b"not gzip at all", gzip.compress(b'{"a":1}\n', mtime=0)[:-6]],
    ids=["not gzip", "truncated gzip"],  # stable ids: pytest-xdist workers must agree
)
def test_a_blob_that_is_not_whole_gzip_is_refused(data: bytes) -> None:
    with pytest.raises((OSError, EOFError, files._INFLATE_ERROR)):
        list(files.numbered_lines(io.BytesIO(data)))
