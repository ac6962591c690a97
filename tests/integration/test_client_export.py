"""The client and CLI against the real app on a loopback socket, on SQLite and PostgreSQL.

Every dataset into every output format (row counts and typed values checked against the
store), a download interrupted mid-blob and resumed, an expired SAS recovered, Ctrl-C
leaving resumable state, and Entra-style tokens through msal.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from billport.billing.datasets import STORED_DATASETS, AttributeSet, Dataset, fields
from billport.cli import main
from billport.client import (
    EntraCredential,
    ExportEvents,
    ExportRequest,
    ExportRun,
    GraphClient,
    HttpClient,
    StaticToken,
    WaitOptions,
)
from billport.client.credentials import GRAPH_SCOPE
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, live_server, opened
from tests.support.tokens import token

FORMATS = ("jsonl", "jsonl.gz", "csv", "parquet", "duckdb")


@pytest.fixture
def runtime(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    # The CLI signs its dev client's tokens at its own clock: the server's pinned one.
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))
    with opened(settings, blob_rows=3, worker_poll_seconds=0.02, sas_lifetime=60) as runtime:
        data.build_dataset(runtime)
        yield runtime


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with live_server(runtime, worker=True) as url:
        yield url


def target_args(runtime: Runtime, server: str) -> list[str]:
    settings = runtime.settings
    return [
        "--server", server,
        "--data-dir", str(settings.data_dir),
        "--database-url", settings.effective_database_url,
        "--poll-max", "0.05",
        "--quiet",
    ]  # fmt: skip


def scope_args(dataset: Dataset) -> list[str]:
    if dataset.billed:
        return ["--invoice", data.MODERN]
    return ["--period", "current", "--currency", "usd"]


def stored_rows(runtime: Runtime, dataset: Dataset) -> list[dict[str, Any]]:
    where: dict[str, Any] = {"tenant_id": data.TENANT}
    if dataset.billed:
        where["invoice_id"] = data.MODERN
    else:
        where.update(billing_month=202611, currency="USD")
    docs = data.stored_docs(runtime, dataset, AttributeSet.FULL, **where)
    return [json.loads(doc, parse_float=Decimal) for doc in docs]


def read_output(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt in ("jsonl", "jsonl.gz"):
        opener = gzip.open if fmt == "jsonl.gz" else open
        with opener(path, "rt", encoding="utf-8") as stream:  # type: ignore[operator]
            return [json.loads(line, parse_float=Decimal) for line in stream]
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        # through Arrow: DuckDB's own TIMESTAMPTZ -> Python conversion needs pytz
        return con.sql("SELECT * FROM exported").to_arrow_table().to_pylist()  # type: ignore[no-any-return]


def as_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def assert_typed_equal(
    dataset: Dataset, got: dict[str, Any], want: dict[str, Any], fmt: str
) -> None:
    for field in fields(dataset, AttributeSet.FULL):
        expected, actual = want[field.name], got[field.name]
        if field.type == "decimal":
            assert Decimal(str(actual)) == expected, field.name
            if fmt in ("parquet", "duckdb"):
                assert isinstance(actual, Decimal), field.name
        elif field.type == "datetime":
            assert as_instant(actual) == as_instant(expected), field.name
            if fmt in ("parquet", "duckdb"):
                assert isinstance(actual, datetime), field.name
        elif field.type == "int":
            assert int(actual) == expected, field.name
        else:
            assert ("" if actual is None else str(actual)) == expected, field.name


@pytest.mark.parametrize("dataset", STORED_DATASETS, ids=lambda d: d.cli_name)
def test_cli_exports_every_dataset_into_every_format(
    runtime: Runtime, server: str, tmp_path: Path, dataset: Dataset
) -> None:
    want = stored_rows(runtime, dataset)
    assert len(want) == 7
    out = tmp_path / "out"
    out.mkdir()
    for fmt in FORMATS:
        output = out / f"exported.{fmt}"
        table = ["--table", "exported"] if fmt == "duckdb" else []
        args = ["export", dataset.cli_name, *scope_args(dataset), "--output", str(output), *table]
        result = CliRunner().invoke(main, [*args, *target_args(runtime, server)])
        assert result.exit_code == 0, result.output
        assert f"7 rows -> {output}" in result.stdout
        got = read_output(output, fmt)
        assert len(got) == len(want)
        for row, stored in zip(got, want, strict=True):
            assert_typed_equal(dataset, row, stored, fmt)
        # parts and state are cleaned up once the output is written
        assert sorted(p.name for p in out.iterdir() if "billport" in p.name) == []


def graph_for(runtime: Runtime, server: str, http: HttpClient) -> GraphClient:
    bearer = token(runtime, None, data.TENANT, "graph")
    return GraphClient(StaticToken(bearer), http, f"{server}/v1.0")


class Faults(httpx.BaseTransport):
    """A real HTTP transport that can break the first blob response or expire the SAS."""

    def __init__(self, runtime: Runtime, *, cut_after: int | None = None, expire: bool = False):
        self.inner = httpx.HTTPTransport()
        self.runtime = runtime
        self.cut_after = cut_after
        self.expire = expire
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        blob = "/blobs/" in request.url.path
        if blob and self.expire:
            self.expire = False
            later = self.runtime.clock() + timedelta(seconds=120)  # past the 60 s SAS
            self.runtime.clock = lambda: later
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        if blob and self.cut_after is not None and response.status_code == 200:
            body = response.read()
            cut, self.cut_after = self.cut_after, None
            return httpx.Response(
                200, headers=response.headers, stream=Truncated(body[:cut]), request=request
            )
        return response


class Truncated(httpx.SyncByteStream):
    def __init__(self, head: bytes) -> None:
        self.head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")


def run_export(runtime: Runtime, server: str, transport: httpx.BaseTransport, tmp: Path, **kw: Any):  # type: ignore[no-untyped-def]
    http = HttpClient(httpx.Client(transport=transport), sleep=lambda s: None)
    request = ExportRequest(Dataset.BILLED_RECONCILIATION, invoice_id=data.MODERN)
    run = ExportRun(
        graph_for(runtime, server, http),
        request,
        tmp / "parts",
        tmp / "state.json",
        wait=WaitOptions(timeout=30, min_interval=0.01, max_interval=0.05),
        workers=1,
        **kw,
    )
    return run


@pytest.fixture(autouse=True)
def close_transports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every Faults transport a test made (open sockets fail the run)."""
    made: list[Faults] = []
    original = Faults.__init__

    def tracking(self: Faults, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Faults, "__init__", tracking)
    yield
    for transport in made:
        transport.close()


def part_lines(parts: list[Path]) -> list[bytes]:
    lines: list[bytes] = []
    for part in parts:
        lines += gzip.decompress(part.read_bytes()).split(b"\n")[:-1]
    return lines


def test_interrupted_blob_download_resumes_with_range(
    runtime: Runtime, server: str, tmp_path: Path
) -> None:
    faults = Faults(runtime, cut_after=40)
    manifest, parts = run_export(runtime, server, faults, tmp_path).run()
    ranged = [r for r in faults.requests if "range" in r.headers]
    assert [r.headers["range"] for r in ranged] == ["bytes=40-"]
    assert 206 in faults.statuses
    want = data.stored_docs(runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL,
                            tenant_id=data.TENANT, invoice_id=data.MODERN)  # fmt: skip
    assert part_lines(parts) == want
    assert len(parts) == len(manifest.blobs) == 3


def test_expired_sas_mid_download_is_renewed(runtime: Runtime, server: str, tmp_path: Path) -> None:
    faults = Faults(runtime, expire=True)
    manifest, parts = run_export(runtime, server, faults, tmp_path).run()
    assert 403 in faults.statuses  # storage refused the expired SAS once ...
    polls = [r for r in faults.requests if "/operations/" in r.url.path]
    sas = {r.url.params["se"] for r in faults.requests if "/blobs/" in r.url.path}
    assert len(sas) == 2  # ... and the parts came with a second, fresh one
    assert len(polls) >= 2
    want = data.stored_docs(runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL,
                            tenant_id=data.TENANT, invoice_id=data.MODERN)  # fmt: skip
    assert part_lines(parts) == want


def test_ctrl_c_leaves_state_that_resume_continues(
    runtime: Runtime, server: str, tmp_path: Path
) -> None:
    received = [0]

    def interrupt(count: int) -> None:
        received[0] += count
        if received[0] > 0:
            raise KeyboardInterrupt

    first = Faults(runtime, cut_after=30)  # the first part stops half way, then Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        run_export(runtime, server, first, tmp_path, events=ExportEvents(bytes=interrupt)).run()
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["operationUrl"] and state["manifest"]
    partial = list((tmp_path / "parts").glob("*.partial"))
    assert len(partial) == 1 and partial[0].stat().st_size == 30

    second = Faults(runtime)
    manifest, parts = run_export(runtime, server, second, tmp_path).run(resume=True)
    assert not [r for r in second.requests if r.method == "POST"]  # no new export requested
    assert [r.headers.get("range") for r in second.requests if "/blobs/" in r.url.path][0] == (
        "bytes=30-"
    )
    assert len(part_lines(parts)) == 7


def test_msal_entra_credential_against_the_dev_issuer(runtime: Runtime) -> None:
    with runtime.db.begin() as conn:
        from billport.store.clients import clients_of_tenant, rotate_secret

        rotated = rotate_secret(conn, clients_of_tenant(conn, data.TENANT)[0].client_id)
        assert rotated is not None  # the store keeps hashes: a new secret, known here
        client = rotated
    with app_client(runtime, base_url="https://testserver") as test_client:  # msal wants https
        credential = EntraCredential(
            data.TENANT,
            client.client_id,
            client_secret=client.secret,
            authority="https://testserver",
            http=HttpClient(test_client),
        )
        issued = credential.token(GRAPH_SCOPE)
        assert credential.token(GRAPH_SCOPE) == issued  # cached
        graph = GraphClient(credential, HttpClient(test_client), "https://testserver/v1.0")
        location = graph.start_export(ExportRequest(Dataset.BILLED_USAGE, invoice_id=data.MODERN))
        assert graph.operation(location).status == "notStarted"
