"""``PartnerCenterClient.line_items()`` and ``billport line-items`` over the real app.

The client follows continuation tokens (query form) and offsets (path form) to the end; the
CLI writes the rows through the export writers, into the same columns and rows as the Graph
export of the invoice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.line_items import graph_row
from billport.cli import main
from billport.client import HttpClient, PartnerCenterClient, StaticToken
from billport.outputs import write_output
from billport.runtime import Runtime
from billport.seed.world import MODERN_DETAILS
from billport.settings import Settings
from tests.integration.test_line_items_api import before_graph, set_invoice
from tests.support import exports as data
from tests.support.factory import app_client, live_server, opened
from tests.support.tokens import token

ROWS = 7


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=ROWS)
        with runtime.db.begin() as conn:
            set_invoice(conn, data.MODERN, details=MODERN_DETAILS)
        before_graph(runtime)
        yield runtime


@pytest.fixture
def bearer_token(runtime: Runtime) -> str:
    return token(runtime, None, data.TENANT, "partner-center")


def stored(runtime: Runtime, dataset: Dataset, **where: object) -> list[dict[str, object]]:
    docs = data.stored_docs(runtime, dataset, AttributeSet.FULL, **where)
    return [json.loads(doc, parse_float=Decimal) for doc in docs]


def test_client_streams_every_page(runtime: Runtime, bearer_token: str) -> None:
    requests: list[str] = []
    with app_client(runtime) as test_client:
        pc = PartnerCenterClient(
            StaticToken(bearer_token), HttpClient(test_client), "http://testserver"
        )
        test_client.event_hooks["request"] = [lambda request: requests.append(str(request.url))]
        seek = list(pc.line_items(data.MODERN, size=2, currency="usd"))
        offset = list(pc.line_items(f"OneTime-{data.MODERN}", "marketplace", "usagelineitems",
                                    size=3, path_form=True))  # fmt: skip
        unbilled = list(pc.line_items("unbilled", currency="USD", period="current", size=4))
    recon = stored(runtime, Dataset.BILLED_RECONCILIATION, invoice_id=data.MODERN)
    assert [graph_row(item) for item in seek] == recon
    assert isinstance(seek[0]["totalForCustomer"], Decimal)  # exact, never float
    assert [graph_row(item) for item in offset] == stored(
        runtime, Dataset.BILLED_USAGE, invoice_id=data.MODERN
    )
    assert [graph_row(item) for item in unbilled] == stored(
        runtime, Dataset.UNBILLED_RECONCILIATION, billing_month=202611, currency="USD"
    )
    assert len(requests) == 4 + 3 + 2  # pages of 2, 3 and 4 rows
    assert sum(1 for url in requests if "seekOperation=Next" in url) == 3 + 1


def test_client_rejects_unknown_spellings(runtime: Runtime, bearer_token: str) -> None:
    pc = PartnerCenterClient(StaticToken(bearer_token), HttpClient(), "http://127.0.0.1:1")
    with pytest.raises(ValueError, match="provider"):
        list(pc.line_items(data.MODERN, "one_time"))


def test_cli_writes_the_graph_export_columns_and_rows(
    runtime: Runtime, bearer_token: str, tmp_path: Path
) -> None:
    graph_part = tmp_path / "graph.jsonl"
    docs = data.stored_docs(
        runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, invoice_id=data.MODERN
    )
    graph_part.write_bytes(b"".join(doc + b"\n" for doc in docs))
    with live_server(runtime) as url:
        target = ["--server", url, "--token", bearer_token]
        for suffix in ("csv", "jsonl"):
            out = tmp_path / f"v1.{suffix}"
            result = CliRunner().invoke(
                main, ["line-items", data.MODERN, "--size", "2", "-o", str(out), *target]
            )
            assert result.exit_code == 0, result.output
            assert f"{ROWS} line items -> {out}" in result.output
            expected = tmp_path / f"graph.{suffix}"
            write_output(
                [graph_part], dataset=Dataset.BILLED_RECONCILIATION,
                attribute_set=AttributeSet.FULL, output=expected,
            )  # fmt: skip
            assert out.read_bytes() == expected.read_bytes()
        refused = CliRunner().invoke(
            main, ["line-items", data.MODERN, "--provider", "office", "-o",
                   str(tmp_path / "x.jsonl"), *target]
        )  # fmt: skip
    assert refused.exit_code == 4, refused.output  # the service refused: a remote failure
    assert "path form" in refused.output
    assert not list(tmp_path.glob(".x.jsonl.*")) and not (tmp_path / "x.jsonl").exists()
