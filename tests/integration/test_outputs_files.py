"""write_output on hand-made part files: key spellings, missing fields, bad rows, atomicity."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.outputs import OutputError, write_output

RECON = Dataset.BILLED_RECONCILIATION
USAGE = Dataset.BILLED_USAGE
ALL_FORMATS = [".parquet", ".duckdb", ".csv", ".jsonl", ".jsonl.gz"]


def part(path: Path, lines: list[str | dict[str, Any]], compress: bool = True) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    return path


def read_back(out: Path) -> list[dict[str, Any]]:
    """Rows of any output format as dicts of Python values (text formats: parsed text)."""
    name = out.name
    if name.endswith(".parquet"):
        return pq.read_table(out).to_pylist()
    if name.endswith(".duckdb"):
        con = duckdb.connect(str(out), read_only=True)
        try:
            table = con.execute("SELECT table_name FROM information_schema.tables").fetchall()[0][0]
            return con.sql(f"SELECT * FROM {table}").to_arrow_table().to_pylist()
        finally:
            con.close()
    raw = out.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if name.endswith(".csv"):
        import csv

        return list(csv.DictReader(raw.decode().splitlines()))
    return [json.loads(line, parse_float=Decimal) for line in raw.splitlines()]


# Raw text: "unitPrice":1.10 keeps its trailing zero, as a JSON number.
CAMEL = (
    '{"partnerId":"p","customerId":"c1","customerName":"Fabrikam","invoiceNumber":"G1",'
    '"chargeType":"New","unitPrice":1.10,"quantity":3,"subtotal":"3.30","taxTotal":0.33,'
    '"totalForCustomer":3.63,"currency":"EUR","orderDate":"2026-10-05T10:11:12+02:00",'
    '"resellerMpnId":"987"}'
)


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_camel_case_and_aliases_land_on_canonical_columns(tmp_path: Path, suffix: str) -> None:
    first = part(tmp_path / "a.json.gz", [CAMEL])
    second = part(tmp_path / "b.json", [CAMEL.replace('"c1"', '"c2"')], compress=False)
    out = tmp_path / f"out{suffix}"
    result = write_output(
        [first, second], dataset=RECON, attribute_set=AttributeSet.FULL, output=out
    )
    assert result.rows == 2
    rows = read_back(out)
    assert [r["CustomerId"] for r in rows] == ["c1", "c2"]
    row = rows[0]
    assert list(row)[:3] == ["PartnerId", "CustomerId", "CustomerName"]
    if suffix == ".csv":
        assert (row["Total"], row["UnitPrice"], row["Tier2MpnId"]) == ("3.63", "1.10", "987")
        assert row["OrderDate"] == "2026-10-05T08:11:12Z"
        assert row["MpnId"] == ""  # missing field: empty
    else:
        assert row["Total"] == Decimal("3.63") and row["UnitPrice"] == Decimal("1.10")
        assert row["Quantity"] == 3 and row["Tier2MpnId"] == "987"
        assert row["MpnId"] is None  # missing field: null
        when = row["OrderDate"]
        if isinstance(when, str):
            assert when == "2026-10-05T08:11:12Z"
        else:
            assert when.astimezone(UTC) == datetime(2026, 10, 5, 8, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_rate_aliases_become_percentages(tmp_path: Path, suffix: str) -> None:
    line = {"PartnerId": "p", "rateOfPartnerEarnedCredit": 0.15, "rateOfCredit": "1.00"}
    out = tmp_path / f"out{suffix}"
    write_output([part(tmp_path / "a.gz", [line])], dataset=USAGE,
                 attribute_set=AttributeSet.FULL, output=out)  # fmt: skip
    row = read_back(out)[0]
    assert row["PartnerEarnedCreditPercentage"] == Decimal("15")
    assert row["CreditPercentage"] == Decimal("100")


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_bad_row_names_file_and_line_and_leaves_old_output(tmp_path: Path, suffix: str) -> None:
    good = part(tmp_path / "good.json.gz", [{"CustomerId": "c", "Total": "1.00"}] * 3)
    bad = part(
        tmp_path / "bad.json.gz",
        [{"CustomerId": "c", "Total": "1.00"}, {"CustomerId": "c", "Total": "one"}],
    )
    out = tmp_path / f"out{suffix}"
    out.write_bytes(b"previous")
    with pytest.raises(OutputError) as caught:
        write_output([good, bad], dataset=RECON, attribute_set=AttributeSet.FULL, output=out)
    message = str(caught.value)
    assert f"{bad}, line 2" in message and "Total" in message
    assert out.read_bytes() == b"previous"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["good.json.gz", "bad.json.gz", out.name]
    )  # no temporary file left


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"CustomerId": "c", "OrderDate": "yesterday"}', "'OrderDate'"),
        ('{"CustomerId": "c", "Quantity": 1.5}', "'Quantity'"),
        ('{"CustomerId": "c", "customerid": "d"}', "both name"),
    ],
)
def test_bad_rows_in_parquet(tmp_path: Path, line: str, fragment: str) -> None:
    path = part(tmp_path / "p.gz", ['{"CustomerId": "a"}', line])
    with pytest.raises(OutputError, match=fragment) as caught:
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL,
                     output=tmp_path / "o.parquet")  # fmt: skip
    assert f"{path}, line 2" in str(caught.value)
    assert not (tmp_path / "o.parquet").exists()


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    whole = gzip.compress(b'{"CustomerId": "a"}\n' * 1000)
    path = tmp_path / "cut.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    for suffix in (".parquet", ".csv"):
        with pytest.raises(OutputError, match="cut.json.gz"):
            write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL,
                         output=tmp_path / f"o{suffix}")  # fmt: skip


def test_values_pyarrow_refuses_are_converted_exactly(tmp_path: Path) -> None:
    """Blank dates, numbers as strings, a key respelled mid-file, more than 6 decimal places."""
    lines = [
        {"CustomerId": "a", "OrderDate": "", "Total": "1.5", "Quantity": "2"},
        {"customerid": "b", "OrderDate": "2026-10-01T00:00:00Z", "Total": 2},
        {"CustomerId": "c", "UnitPrice": "0.12345678901", "Total": "-0.000000001"},
    ]
    path = part(tmp_path / "p.gz", lines)
    out = tmp_path / "o.parquet"
    assert (
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL, output=out).rows == 3
    )
    table = pq.read_table(out)
    assert table.schema.field("Total").type == pa.decimal128(38, 11)
    rows = table.to_pylist()
    assert [r["CustomerId"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["OrderDate"] is None and rows[0]["Quantity"] == 2
    assert rows[0]["Total"] == Decimal("1.5") and rows[1]["Total"] == Decimal(2)
    assert rows[2]["UnitPrice"] == Decimal("0.12345678901")
    assert rows[2]["Total"] == Decimal("-0.000000001")


def test_extra_keys_of_the_first_line_become_string_columns(tmp_path: Path) -> None:
    lines = [
        {"PartnerId": "p", "PCToBCExchangeRateDate": "2026-10-01T00:00:00Z", "Tags": {"a": 1},
         "NewField": 5},
        {"PartnerId": "q", "NewField": "x"},
    ]  # fmt: skip
    out = tmp_path / "o.parquet"
    write_output([part(tmp_path / "p.gz", lines)], dataset=USAGE,
                 attribute_set=AttributeSet.BASIC, output=out)  # fmt: skip
    table = pq.read_table(out)
    # Tags is a full-set field, kept with its type; the others are new: strings
    assert table.column_names[-3:] == ["PCToBCExchangeRateDate", "Tags", "NewField"]
    assert table.schema.field("NewField").type == pa.string()
    assert table.schema.field("PCToBCExchangeRateDate").type == pa.string()
    assert table.column("NewField").to_pylist() == ["5", "x"]
    assert table.column("Tags").to_pylist() == ['{"a":1}', None]
    later = [{"PartnerId": "p"}, {"PartnerId": "q", "Surprise": 1}]
    with pytest.raises(OutputError, match="unexpected key 'Surprise'"):
        write_output([part(tmp_path / "q.gz", later)], dataset=USAGE,
                     attribute_set=AttributeSet.BASIC, output=out)  # fmt: skip


def test_nested_tags_object_is_kept_as_json_text(tmp_path: Path) -> None:
    line = {"PartnerId": "p", "Tags": {"env": "prod"}}
    out = tmp_path / "o.csv"
    write_output([part(tmp_path / "p.gz", [line])], dataset=USAGE,
                 attribute_set=AttributeSet.FULL, output=out)  # fmt: skip
    assert read_back(out)[0]["Tags"] == '{"env":"prod"}'


def test_empty_parts_give_an_empty_typed_file(tmp_path: Path) -> None:
    empty = tmp_path / "e.json.gz"
    empty.write_bytes(gzip.compress(b""))
    out = tmp_path / "o.parquet"
    result = write_output([empty], dataset=RECON, attribute_set=AttributeSet.BASIC, output=out)
    assert result.rows == 0
    assert pq.read_table(out).schema.field("Total").type == pa.decimal128(38, 6)


def test_table_name_rules(tmp_path: Path) -> None:
    path = part(tmp_path / "p.gz", [{"CustomerId": "a"}])
    with pytest.raises(ValueError, match="table name"):
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL,
                     output=tmp_path / "o.duckdb", table="x; DROP")  # fmt: skip
    with pytest.raises(ValueError, match="duckdb"):
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL,
                     output=tmp_path / "o.csv", table="t")  # fmt: skip
    with pytest.raises(ValueError, match=r"\.jsonl\.gz"):
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL,
                     output=tmp_path / "o.xlsx")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.gz"]


def test_output_replaces_an_existing_duckdb_file(tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    for customer in ("first", "second"):
        path = part(tmp_path / "p.gz", [{"CustomerId": customer}])
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL, output=out,
                     table="lines")  # fmt: skip
    assert [r["CustomerId"] for r in read_back(out)] == ["second"]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_is_light_and_missing_analytics_is_explained(tmp_path: Path) -> None:
    light = run_python(
        "import sys, billport.outputs, billport.reconcile, billport.billing.fieldnames\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'duckdb')))"
    )
    assert light.returncode == 0, light.stderr
    assert light.stdout.strip() == "[]"
    path = part(tmp_path / "p.gz", [{"CustomerId": "a"}])
    for module, suffix in (("pyarrow", "parquet"), ("duckdb", "duckdb")):
        missing = run_python(
            f"import sys; sys.modules[{module!r}] = None\n"
            "from pathlib import Path\n"
            "from billport.billing.datasets import AttributeSet, Dataset\n"
            "from billport.outputs import MissingAnalytics, write_output\n"
            "try:\n"
            f"    write_output([Path({str(path)!r})], dataset=Dataset.BILLED_RECONCILIATION,\n"
            "                 attribute_set=AttributeSet.FULL,\n"
            f"                 output=Path({str(tmp_path / ('o.' + suffix))!r}))\n"
            "except MissingAnalytics as exc:\n"
            "    print(exc)\n"
        )
        assert missing.returncode == 0, missing.stderr
        assert f"needs '{module}'" in missing.stdout and "billport[analytics]" in missing.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.gz"]


def test_a_part_pyarrow_refuses_midway_continues_exactly(tmp_path: Path) -> None:
    """Rows after the first refused block come from the Python reader, none twice or lost."""
    filler = "x" * 300
    lines: list[str | dict[str, Any]] = []
    for n in range(6000):  # ~2 MB: pyarrow hands out its first 1 MiB blocks before failing
        key = "customerid" if n == 4500 else "CustomerId"  # respelled: pyarrow refuses it
        lines.append({key: str(n), "SkuName": filler, "Total": f"{n}.25"})
        if n % 1000 == 999:
            lines.append("")  # blank lines are skipped by both readers
    path = part(tmp_path / "p.gz", lines)
    out = tmp_path / "o.parquet"
    assert (
        write_output([path], dataset=RECON, attribute_set=AttributeSet.FULL, output=out).rows
        == 6000
    )
    table = pq.read_table(out, columns=["CustomerId", "Total"])
    assert table.column("CustomerId").to_pylist() == [str(n) for n in range(6000)]
    assert table.column("Total").to_pylist()[4500] == Decimal("4500.25")


def test_blank_and_offsetless_dates_stay_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billport.outputs import arrow

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the Python reader was used")

    monkeypatch.setattr(arrow, "slow_batches", refuse)
    lines = [
        {"CustomerId": "a", "OrderDate": "", "ChargeStartDate": "2026-10-01T00:00:00"},
        {"CustomerId": "b", "OrderDate": "2026-10-01T02:00:00+02:00", "ChargeStartDate": None},
    ]
    out = tmp_path / "o.parquet"
    write_output([part(tmp_path / "p.gz", lines)], dataset=RECON,
                 attribute_set=AttributeSet.FULL, output=out)  # fmt: skip
    rows = pq.read_table(out, columns=["OrderDate", "ChargeStartDate"]).to_pylist()
    midnight = datetime(2026, 10, 1, tzinfo=UTC)
    assert rows[0]["OrderDate"] is None and rows[0]["ChargeStartDate"] == midnight
    assert rows[1]["OrderDate"] == midnight and rows[1]["ChargeStartDate"] is None
