"""Import chunks (billport/ingest/chunks.py) and their merge by the reader: runs of one
scope, exact totals, the scope digest, and a billed invoice keeping its first month."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.ingest.chunks import FileRows, rendered
from billport.ingest.files import Source
from billport.ingest.reader import BadRow, Reader
from billport.ingest.rows import Renderer, Shape
from tests.support.exports import line_values, render

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
RECON = Dataset.BILLED_RECONCILIATION


def line(dataset: Dataset, n: int, invoice: str = "G1", **values: object) -> bytes:
    return render(
        dataset, AttributeSet.FULL, {**line_values(dataset, TENANT, n, "USD", invoice), **values}
    )


def numbered(*lines: bytes) -> list[tuple[int, bytes | tuple[str, ...]]]:
    return list(enumerate(lines, start=1))


def test_rows_of_a_chunk_come_in_runs_of_one_scope_with_exact_totals() -> None:
    renderer = Renderer(Shape(RECON, AttributeSet.FULL))
    file = FileRows(TENANT, "a.json.gz", 202610, None)
    lines = numbered(line(RECON, 1), line(RECON, 2), line(RECON, 3, "G2"), line(RECON, 4))
    chunk = rendered(file, renderer, {"G2": 202609}.get, None, lines)
    assert [(r.key, r.month, r.line, r.start, r.stop) for r in chunk.runs] == [
        ((RECON, "G1"), 202610, 1, 0, 2),
        ((RECON, "G2"), 202609, 3, 2, 3),  # its stored month wins over the file's
        ((RECON, "G1"), 202610, 4, 3, 4),
    ]
    assert [r.total for r in chunk.runs] == [
        Decimal("3.246912"), Decimal("3.123456"), Decimal("4.123456"),
    ]  # fmt: skip
    first = chunk.rows[0]
    assert first[:9] == (TENANT, RECON.code, "G1", 202610, "USD", "cust-1", "New", "1.123456", 0)
    assert first[9] == lines[0][1]  # the full set is the line itself


def test_a_hinted_month_wins_and_unbilled_rows_take_the_files_month() -> None:
    usage = Dataset.UNBILLED_USAGE
    renderer = Renderer(Shape(usage, AttributeSet.FULL))
    chunk = rendered(
        FileRows(TENANT, "u.json.gz", 202611, None), renderer, {}.get, None,
        numbered(line(usage, 1, ""), line(usage, 2, "")),
    )  # fmt: skip
    ((run),) = chunk.runs
    assert run.key == (usage, 202611, "USD") and {r[3] for r in chunk.rows} == {202611}
    hinted = rendered(
        FileRows(TENANT, "a.json.gz", 202610, 202612), Renderer(Shape(RECON, AttributeSet.FULL)),
        {"G1": 202609}.get, None, numbered(line(RECON, 1)),
    )  # fmt: skip
    assert hinted.runs[0].month == 202612


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"Currency": "US"}, "Currency", "a currency must be a 3-letter code"),
        ({"InvoiceNumber": "G" * 21}, "InvoiceNumber", "longer than 20 characters"),
        ({"CustomerId": "c" * 37}, "CustomerId", "longer than 36 characters"),
        ({"ChargeType": "x" * 41}, "ChargeType", "longer than 40 characters"),
        ({"InvoiceNumber": ""}, "InvoiceNumber", "a billed row needs its invoice number"),
    ],
)
def test_a_bad_row_in_a_chunk_is_named_by_its_line(
    changes: dict[str, str], column: str, reason: str
) -> None:
    renderer = Renderer(Shape(RECON, AttributeSet.FULL))
    bad = render(
        RECON, AttributeSet.FULL, {**line_values(RECON, TENANT, 2, "USD", "G1"), **changes}
    )
    chunk = rendered(FileRows(TENANT, "a.json.gz", 202610, None), renderer, {}.get, None,
                     [(7, line(RECON, 1)), (9, bad), (10, line(RECON, 3))])  # fmt: skip
    assert chunk.error is not None
    assert (chunk.error.line, chunk.error.column, chunk.error.reason) == (9, column, reason)
    # The chunk ends at its bad line: the rows and runs before it, to be merged first.
    assert len(chunk.rows) == 1 and [(r.start, r.stop) for r in chunk.runs] == [(0, 1)]


def reader_of(blobs: dict[str, list[bytes]], batch_rows: int = 2) -> Reader:
    return Reader(
        TENANT,
        lambda invoice: None,
        read=lambda source: enumerate(blobs[source.name], start=1),
        batch_rows=batch_rows,
    )


def test_an_invoice_keeps_the_month_of_the_first_file_it_came_in() -> None:
    """Neither the store, a header, the path nor --billing-month says: the first file's
    month holds for the invoice's rows in later files and later chunks too."""
    october = [line(RECON, n, ChargeStartDate="2026-10-01T00:00:00Z") for n in range(3)]
    november = [line(RECON, n, ChargeStartDate="2026-11-01T00:00:00Z") for n in range(3, 8)]
    reader = reader_of({"a.json.gz": october, "b.json.gz": november})
    sources = [Source(Path(name), name) for name in ("a.json.gz", "b.json.gz")]
    rows = [row for batch in reader.batches(sources) for row in batch]
    assert len(rows) == 8 and {row[3] for row in rows} == {202610}
    ((scope, tally),) = reader.tallies.items()
    assert (scope.invoice_id, tally.rows) == ("G1", 8)
    assert tally.total == sum(Decimal(row[7]) for row in rows)
    # The import identity: SHA-256 of the imported set's documents, each ending in a newline.
    assert (
        tally.digest.hexdigest() == hashlib.sha256(b"".join(r[9] + b"\n" for r in rows)).hexdigest()
    )


def test_one_scope_in_two_attribute_sets_is_refused_at_its_first_line() -> None:
    basic = render(RECON, AttributeSet.BASIC, line_values(RECON, TENANT, 9, "USD", "G1"))
    reader = reader_of({"a.json.gz": [line(RECON, 1)], "b.json.gz": [basic, basic]})
    sources = [Source(Path(name), name) for name in ("a.json.gz", "b.json.gz")]
    with pytest.raises(BadRow) as caught:
        list(reader.batches(sources))
    assert (caught.value.file, caught.value.line) == ("b.json.gz", 1)
    assert "also comes with the full attribute set" in caught.value.reason


SHAPES = [
    Shape(dataset, attribute_set)
    for dataset in Dataset
    if not dataset.aggregated
    for attribute_set in AttributeSet
]


@pytest.mark.parametrize(
    "shape", SHAPES, ids=lambda s: f"{s.dataset.value}-{s.attribute_set.value}"
)
def test_chunk_documents_are_those_of_the_renderer_for_every_shape(shape: Shape) -> None:
    """The hot path's runs render the other set to the same bytes as ``docs_of`` over every
    value: for compact ASCII lines, non-ASCII and escaped text, and lines with spaces
    (which keep their own bytes)."""
    renderer = Renderer(shape)
    invoice = "G1" if shape.dataset.billed else ""
    plain = render(shape.dataset, shape.attribute_set, {
        **line_values(shape.dataset, TENANT, 4, "USD", invoice), "CustomerName": "Plain",
    })  # fmt: skip
    texts = render(shape.dataset, shape.attribute_set, {
        **line_values(shape.dataset, TENANT, 5, "USD", invoice),
        "CustomerId": 'c\\"1', "ChargeType": "é",
    })  # fmt: skip
    spaced = plain.replace(b'":', b'" : ').replace(b",", b" , ", 3)
    lines = [plain, texts.replace("é".encode(), b"\\u00e9", 1), texts, spaced]
    chunk = rendered(
        FileRows(TENANT, "x.json.gz", 202610, None), renderer, {}.get, None, numbered(*lines)
    )
    for given, row in zip(lines, chunk.rows, strict=True):
        values = renderer.values(given.decode())
        assert (row[9], row[10]) == renderer.docs_of(given, values)
        assert row[5:8] == (
            json.loads(renderer.keys(values)[1]), json.loads(renderer.keys(values)[2]),
            str(line_values(shape.dataset, TENANT, 5 if given in lines[1:3] else 4, "USD", "")[
                "BillingPreTaxTotal" if shape.dataset.usage else "Total"
            ]),
        )  # fmt: skip


def test_a_line_that_is_not_utf8_is_named() -> None:
    renderer = Renderer(Shape(RECON, AttributeSet.FULL))
    bad = line(RECON, 1).replace(b"Fabrikam", b"Fabr\xffkam")
    assert bad != line(RECON, 1)
    chunk = rendered(FileRows(TENANT, "a.json.gz", 202610, None), renderer, {}.get, None,
                     [(1, line(RECON, 2)), (2, bad)])  # fmt: skip
    assert chunk.error is not None
    assert (chunk.error.line, chunk.error.reason) == (2, "not UTF-8 (invalid start byte)")


def test_deferred_hashing_gives_the_same_digests_once_pending_work_is_done() -> None:
    """The import hashes documents on its writer thread (``defer_hashing``): until
    ``hash_pending`` runs the digests lag; afterwards they equal the reading thread's."""
    blobs = {"a.json.gz": [line(RECON, n, "G1" if n < 5 else "G2") for n in range(9)]}
    sources = [Source(Path("a.json.gz"), "a.json.gz")]
    eager = reader_of(blobs)
    list(eager.batches(sources))
    deferred = reader_of(blobs)
    deferred.defer_hashing = True
    list(deferred.batches(sources))
    empty = hashlib.sha256().hexdigest()
    assert {t.digest.hexdigest() for t in deferred.tallies.values()} == {empty}
    deferred.hash_pending()
    assert {s: t.digest.hexdigest() for s, t in deferred.tallies.items()} == {
        s: t.digest.hexdigest() for s, t in eager.tallies.items()
    }
    assert len(eager.tallies) == 2


def test_checks_come_in_the_readers_order_widths_before_the_missing_invoice_number() -> None:
    renderer = Renderer(Shape(RECON, AttributeSet.FULL))
    bad = render(RECON, AttributeSet.FULL, {
        **line_values(RECON, TENANT, 2, "USD", ""), "CustomerId": "c" * 37,
    })  # fmt: skip
    chunk = rendered(FileRows(TENANT, "a.json.gz", 202610, None), renderer, {}.get, None,
                     [(1, bad)])  # fmt: skip
    assert chunk.error is not None and chunk.error.column == "CustomerId"


def test_a_scope_in_two_attribute_sets_is_reported_before_a_later_bad_line() -> None:
    """Faults are reported in file order, across the runs of a chunk too."""
    basic = [render(RECON, AttributeSet.BASIC, line_values(RECON, TENANT, n, "USD", invoice))
             for n, invoice in ((1, "G1"), (2, "G1"))]  # fmt: skip
    reader = reader_of(
        {"a.json.gz": [line(RECON, 1), line(RECON, 2, "G2")], "b.json.gz": [*basic, b"{"]},
        batch_rows=10,
    )
    with pytest.raises(BadRow) as caught:
        list(reader.batches([Source(Path(n), n) for n in ("a.json.gz", "b.json.gz")]))
    assert (caught.value.file, caught.value.line) == ("b.json.gz", 1)
    assert "also comes with the full attribute set" in caught.value.reason


def test_totals_are_summed_exactly_past_28_digits() -> None:
    big = "1" + "0" * 27
    lines = [line(RECON, 1, Total=Decimal(big)), line(RECON, 2, Total=Decimal("0.4")),
             line(RECON, 3, Total=Decimal("0.4"), Currency="usd")]  # fmt: skip
    reader = reader_of({"a.json.gz": lines})
    list(reader.batches([Source(Path("a.json.gz"), "a.json.gz")]))
    ((tally),) = reader.tallies.values()
    assert tally.total == Decimal(big + ".8")


def test_an_amount_with_an_absurd_exponent_is_refused() -> None:
    renderer = Renderer(Shape(RECON, AttributeSet.FULL))
    fine, absurd = (line(RECON, 1).replace(b'"Total":1.123456', total)
                    for total in (b'"Total":1.5E+3', b'"Total":1E+999999'))  # fmt: skip
    file = FileRows(TENANT, "a.json.gz", 202610, None)
    assert rendered(file, renderer, {}.get, None, [(1, fine)]).rows[0][7] == "1500"
    chunk = rendered(file, renderer, {}.get, None, [(1, absurd)])
    assert chunk.error is not None and chunk.error.column == "Total"
    assert chunk.error.reason == "an exponent beyond ±100: 1E+999999"
