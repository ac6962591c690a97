"""The client and ``billport export billed-aggregated-usage`` against the real app on a socket.

A client made for ``/v1.0`` sends the beta-only export to ``/beta``, without ``attributeSet``;
the CLI writes every output format, with decimals that sum to the billed usage export of the
same invoice.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from billport.billing.datasets import AttributeSet, Dataset, fields
from billport.cli import main
from billport.client import (
    ExportRequest,
    ExportRun,
    GraphClient,
    HttpClient,
    StaticToken,
    WaitOptions,
)
from billport.client.rows import iter_rows
from billport.runtime import Runtime
from billport.settings import Settings
from tests.integration.test_client_export import FORMATS, read_output, target_args
from tests.support import aggregated as agg
from tests.support import exports as data
from tests.support.factory import live_server, opened
from tests.support.tokens import token

AGGREGATED = Dataset.BILLED_AGGREGATED_USAGE


@pytest.fixture
def runtime(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    # The CLI signs its dev client's tokens at its own clock: the server's pinned one.
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))
    with opened(settings, blob_rows=10, worker_poll_seconds=0.02) as runtime:
        data.build_dataset(runtime)
        agg.add_usage_invoice(runtime)
        yield runtime


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with live_server(runtime, worker=True) as url:
        yield url


def test_request_body_has_no_attribute_set() -> None:
    request = ExportRequest(AGGREGATED, invoice_id=agg.INVOICE)
    assert request.body() == {"invoiceId": agg.INVOICE}
    assert ExportRequest.from_json(request.to_json()) == request
    with pytest.raises(ValueError, match="no attribute sets"):
        ExportRequest(AGGREGATED, invoice_id=agg.INVOICE, attribute_set=AttributeSet.BASIC)
    with pytest.raises(ValueError, match="invoice"):
        ExportRequest(AGGREGATED)


def export_rows(runtime: Runtime, server: str, tmp: Path, dataset: Dataset) -> list[dict[str, Any]]:
    """Run one export with a client made for /v1.0; its rows (checked: the version used)."""
    seen: list[httpx.Request] = []
    client = httpx.Client(event_hooks={"request": [seen.append]})
    with HttpClient(client, sleep=lambda s: None) as http:
        bearer = token(runtime, None, data.TENANT, "graph")
        graph = GraphClient(StaticToken(bearer), http, f"{server}/v1.0")
        request = ExportRequest(dataset, invoice_id=agg.INVOICE)
        wait = WaitOptions(timeout=30, min_interval=0.01, max_interval=0.05)
        tmp.mkdir()
        run = ExportRun(graph, request, tmp / "parts", tmp / "state.json", wait=wait, workers=1)
        _, parts = run.run()
        rows = list(iter_rows(parts, dataset))
    posts = [r for r in seen if r.method == "POST"]
    assert len(posts) == 1
    version = "beta" if dataset is AGGREGATED else "v1.0"
    assert posts[0].url.path.startswith(f"/{version}/reports/partners/billing/")
    polls = [r for r in seen if "/operations/" in r.url.path]
    assert polls and all(r.url.path.startswith(f"/{version}/") for r in polls)
    return rows


def test_client_exports_from_a_v1_client(runtime: Runtime, server: str, tmp_path: Path) -> None:
    rows = export_rows(runtime, server, tmp_path / "agg", AGGREGATED)
    usage = export_rows(runtime, server, tmp_path / "usage", Dataset.BILLED_USAGE)
    assert len(rows) == 25 and len(usage) == 60
    assert list(rows[0]) == [f.name for f in fields(AGGREGATED)]
    for name in agg.SUMS:
        assert sum(r[name] for r in rows) == sum(r[name] for r in usage)
    assert all(isinstance(r["PartnerPrice"], Decimal) for r in rows)


def test_cli_writes_every_format(runtime: Runtime, server: str, tmp_path: Path) -> None:
    want = agg.expected_rows([agg.usage_values(n) for n in range(60)])
    for fmt in FORMATS:
        output = tmp_path / f"aggregated.{fmt}"
        table = ["--table", "exported"] if fmt == "duckdb" else []
        args = ["export", "billed-aggregated-usage", "--invoice", agg.INVOICE,
                "--output", str(output), *table, *target_args(runtime, server)]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert f"25 rows -> {output}" in result.stdout
        got = read_output(output, fmt)
        assert [r["MeterId"] for r in got] == [r["MeterId"] for r in want]
        for row, expected in zip(got, want, strict=True):
            for name in (*agg.SUMS, "PartnerPrice", "EffectiveUnitPrice"):
                assert Decimal(str(row[name])) == expected[name], (fmt, name)
                if fmt in ("parquet", "duckdb"):
                    assert isinstance(row[name], Decimal), name
            assert row["PriceBenefits"] == expected["PriceBenefits"]


@pytest.mark.parametrize(
    "extra", [["--attributes", "basic"], ["--attributes", "full"], ["--period", "current"]]
)
def test_cli_refuses_options_the_action_does_not_take(tmp_path: Path, extra: list[str]) -> None:
    args = ["export", "billed-aggregated-usage", "--invoice", agg.INVOICE, *extra,
            "--output", str(tmp_path / "x.jsonl"), "--server", "http://127.0.0.1:9"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "billed-aggregated-usage" in result.output
