"""write_output on real export parts: every dataset into every format, checked against the store."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from billport.billing.datasets import STORED_DATASETS, AttributeSet, Dataset, fields
from billport.jobs.worker import Worker
from billport.outputs import write_output
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, opened

BILLING = "reports/partners/billing"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as tc:
        yield tc


def download_parts(
    client: TestClient, runtime: Runtime, dataset: Dataset, attribute_set: AttributeSet, to: Path
) -> tuple[list[Path], list[bytes]]:
    """Run an export; save its blobs as downloaded files; return them and the stored docs."""
    headers = data.graph_headers(runtime)
    if dataset.billed:
        body: dict[str, str] = {"invoiceId": data.MODERN}
        where: dict[str, Any] = {"tenant_id": data.TENANT, "invoice_id": data.MODERN}
    else:
        body = {"billingPeriod": "current", "currencyCode": "USD"}
        where = {"tenant_id": data.TENANT, "billing_month": 202611, "currency": "USD"}
    body["attributeSet"] = attribute_set.value
    started = client.post(f"/v1.0/{BILLING}/{dataset.url_path}/export", json=body, headers=headers)
    assert started.status_code == 202, started.text
    assert Worker(runtime).run(once=True) >= 1
    manifest = client.get(started.headers["Location"], headers=headers).json()["resourceLocation"]
    to.mkdir(parents=True, exist_ok=True)
    paths = []
    for blob in manifest["blobs"]:
        got = client.get(f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}")
        assert got.status_code == 200
        path = to / blob["name"].replace("/", "_")
        path.write_bytes(got.content)
        paths.append(path)
    assert len(paths) == 3  # 7 rows, 3 per part: the conversion crosses part boundaries
    return paths, data.stored_docs(runtime, dataset, attribute_set, **where)


def expected_value(kind: str, raw: Any) -> Any:
    if raw is None or raw == "":
        return None if kind != "string" else raw
    if kind == "decimal":
        return Decimal(str(raw))
    if kind == "datetime":
        return datetime.fromisoformat(raw).astimezone(UTC)
    return raw


def stored_rows(docs: list[bytes], dataset: Dataset, attribute_set: AttributeSet) -> list[dict]:
    out = []
    for doc in docs:
        parsed = json.loads(doc, parse_float=Decimal)
        out.append({f.name: expected_value(f.type, parsed.get(f.name)) for f in fields(
            dataset, attribute_set)})  # fmt: skip
    return out


@pytest.mark.parametrize("attribute_set", list(AttributeSet))
def test_parquet_typed_columns(
    client: TestClient, runtime: Runtime, tmp_path: Path, attribute_set: AttributeSet
) -> None:
    for dataset in STORED_DATASETS:
        parts, docs = download_parts(client, runtime, dataset, attribute_set, tmp_path / "in")
        out = tmp_path / f"{dataset.value}.parquet"
        result = write_output(parts, dataset=dataset, attribute_set=attribute_set, output=out)
        assert result.rows == len(docs) == 7 and result.path == out
        table = pq.read_table(out)
        for f in fields(dataset, attribute_set):
            column_type = table.schema.field(f.name).type
            if f.type == "decimal":
                assert pa.types.is_decimal(column_type), f.name
            elif f.type == "datetime":
                assert column_type == pa.timestamp("us", tz="UTC"), f.name
            elif f.type == "int":
                assert column_type == pa.int64(), f.name
            else:
                assert column_type == pa.string(), f.name
        assert table.column_names == [f.name for f in fields(dataset, attribute_set)]
        got = [
            {k: (v.astimezone(UTC) if isinstance(v, datetime) else v) for k, v in row.items()}
            for row in table.to_pylist()
        ]
        assert got == stored_rows(docs, dataset, attribute_set)
        if "UnitPrice" in table.column_names:
            assert got[0]["UnitPrice"] == Decimal("99999999999.999999")


def test_duckdb_typed_table(client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    for dataset in STORED_DATASETS:
        parts, docs = download_parts(client, runtime, dataset, AttributeSet.FULL, tmp_path / "in")
        out = tmp_path / f"{dataset.value}.duckdb"
        table = None if dataset is Dataset.BILLED_RECONCILIATION else f"t_{dataset.code}"
        result = write_output(
            parts, dataset=dataset, attribute_set=AttributeSet.FULL, output=out, table=table
        )
        assert result.rows == 7
        name = table or "billedReconciliation"
        con = duckdb.connect(str(out), read_only=True)
        try:
            types = dict(con.execute(f"SELECT column_name, data_type FROM "
                                     f"information_schema.columns WHERE table_name = '{name}'"
                                     ).fetchall())  # fmt: skip
            # through Arrow: DuckDB's own TIMESTAMPTZ -> Python conversion needs pytz
            got_rows = con.sql(f"SELECT * FROM {name}").to_arrow_table().to_pylist()
        finally:
            con.close()
        expected = stored_rows(docs, dataset, AttributeSet.FULL)
        assert len(got_rows) == len(expected)
        for f in fields(dataset, AttributeSet.FULL):
            want = {"decimal": "DECIMAL(38,6)", "datetime": "TIMESTAMP WITH TIME ZONE",
                    "int": "BIGINT", "string": "VARCHAR"}[f.type]  # fmt: skip
            assert types[f.name] == want, f.name
        for got, want_row in zip(got_rows, expected, strict=True):
            for key, want_value in want_row.items():
                value = got[key]
                if isinstance(value, datetime):
                    value = value.astimezone(UTC)
                assert value == want_value, key


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv"])
def test_text_formats_keep_exact_text(
    client: TestClient, runtime: Runtime, tmp_path: Path, suffix: str
) -> None:
    for dataset in STORED_DATASETS:
        parts, docs = download_parts(client, runtime, dataset, AttributeSet.BASIC, tmp_path / "i")
        out = tmp_path / f"out{suffix}"
        result = write_output(parts, dataset=dataset, attribute_set=AttributeSet.BASIC, output=out)
        assert result.rows == 7
        names = [f.name for f in fields(dataset, AttributeSet.BASIC)]
        raw = gzip.decompress(out.read_bytes()) if suffix.endswith(".gz") else out.read_bytes()
        if suffix == ".csv":
            lines = list(csv.reader(raw.decode("utf-8").splitlines()))
            assert lines[0] == names
            got = [dict(zip(names, line, strict=True)) for line in lines[1:]]
        else:
            got = [json.loads(line, parse_float=str) for line in raw.splitlines()]
            assert [list(row) for row in got] == [names] * 7
        for row, doc in zip(got, docs, strict=True):
            stored = json.loads(doc, parse_float=str)  # the exact decimal text
            for f in fields(dataset, AttributeSet.BASIC):
                value = row[f.name]
                if suffix == ".csv":
                    assert value == str(stored[f.name]), f.name
                else:
                    assert value == stored[f.name], f.name
        if dataset is Dataset.BILLED_RECONCILIATION:
            assert b"99999999999.999999" in raw
            assert b'"CustomerName":"Fabrikam 0 \xc3\xa9\\"quoted\\""' in raw or suffix == ".csv"


def test_bytes_identical_jsonl_round_trip(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    """The export's own PascalCase lines come out byte for byte (orjson, same key order)."""
    parts, docs = download_parts(
        client, runtime, Dataset.BILLED_USAGE, AttributeSet.FULL, tmp_path / "in"
    )
    out = tmp_path / "usage.jsonl"
    write_output(parts, dataset=Dataset.BILLED_USAGE, attribute_set=AttributeSet.FULL, output=out)
    assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == [
        orjson.loads(d) for d in docs
    ]
