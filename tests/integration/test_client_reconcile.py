"""``billport reconcile`` and ``billport invoices`` on the demo data, against the real app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from billport.billing.datasets import Dataset
from billport.cli import main
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.clients import clients_of_tenant, rotate_secret
from billport.store.tables import line_items
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, seed_demo
from tests.support.factory import live_server, opened


@pytest.fixture
def runtime(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    # The CLI signs its dev client's tokens at its own clock: the server's pinned one.
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))
    with opened(settings, worker_poll_seconds=0.02) as runtime:
        seed_demo(runtime.db, runtime.settings)
        yield runtime


@pytest.fixture
def args(runtime: Runtime) -> Iterator[list[str]]:
    with live_server(runtime, worker=True) as url:
        yield [
            "--server", url,
            "--data-dir", str(runtime.settings.data_dir),
            "--database-url", runtime.settings.effective_database_url,
        ]  # fmt: skip


def alter_one_line(runtime: Runtime, amount: Decimal) -> str:
    """Replace one billed reconciliation line of the demo invoice by a copy whose Total is
    ``amount`` higher (line items are immutable: delete + insert); the customer's name."""
    with runtime.db.begin() as conn:
        row = conn.execute(
            sa.select(line_items)
            .where(
                line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
                line_items.c.invoice_id == DEMO_INVOICE,
            )
            .order_by(line_items.c.id)
            .limit(1)
        ).one()
        values = dict(row._mapping)
        del values["id"]
        total = Decimal(str(values["total"])) + amount
        for column in ("doc_full", "doc_basic"):
            doc = bytes(values[column])
            values[column] = re.sub(rb'"Total":[-0-9.]+', f'"Total":{total}'.encode(), doc)
        values["total"] = total
        conn.execute(line_items.delete().where(line_items.c.id == row.id))
        conn.execute(line_items.insert().values(**values))
    name: str = json.loads(values["doc_basic"])["CustomerName"]
    return name


@pytest.mark.slow  # three CLI reconciles of the demo invoice (export, download, compare)
def test_reconcile_passes_on_demo_data_and_names_the_customer_after_a_change(
    runtime: Runtime, args: list[str]
) -> None:
    ok = CliRunner().invoke(main, ["reconcile", "--invoice", DEMO_INVOICE, "-q", *args])
    assert ok.exit_code == 0, ok.output
    assert f"Invoice {DEMO_INVOICE} (USD)" in ok.stdout and "OK" in ok.stdout

    customer = alter_one_line(runtime, Decimal("100.00"))
    bad = CliRunner().invoke(
        main, ["reconcile", "--invoice", DEMO_INVOICE, "--format", "json", "-q", *args]
    )
    assert bad.exit_code == 1, bad.output
    assert customer in bad.stderr
    assert "+100.00" in bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False

    with runtime.db.begin() as conn:  # a later clock than the server's: its token endpoint
        client = rotate_secret(conn, clients_of_tenant(conn, DEMO_TENANT)[0].client_id)
    assert client is not None
    app = ["--tenant", DEMO_TENANT, "--client-id", client.client_id]
    html = CliRunner().invoke(
        main,
        ["reconcile", "--invoice", DEMO_INVOICE, "--format", "html", "-q", *args, *app],
        env={"BILLPORT_NOW": "2026-12-01T08:00:00Z", "BILLPORT_CLIENT_SECRET": str(client.secret)},
    )
    assert html.exit_code == 1
    assert "<svg" in html.stdout and f"customer {customer} (" in html.stderr
    # The generation time comes from the injected clock, so reports are reproducible.
    assert "<tr><th>Generated</th><td>2026-12-01 08:00:00 UTC</td></tr>" in html.stdout


def test_invoices_list_and_show(runtime: Runtime, args: list[str]) -> None:
    listed = CliRunner().invoke(main, ["invoices", "list", "--all", "--format", "json", *args])
    assert listed.exit_code == 0, listed.output
    invoices = json.loads(listed.stdout, parse_float=Decimal)
    ids = {i["id"] for i in invoices}
    assert {DEMO_INVOICE, "D02005YFHI"} <= ids
    legacy = next(i for i in invoices if i["id"] == "D02005YFHI")
    assert legacy["totalCharges"] == Decimal("24606.35")

    dated = CliRunner().invoke(
        main, ["invoices", "list", "--all", "--from", "2017-01-01", "--to", "2017-12-31",
               "--format", "csv", *args],
    )  # fmt: skip
    assert dated.exit_code == 0, dated.output
    lines = dated.stdout.splitlines()
    assert lines[0].startswith("id,invoiceDate")
    assert [line.split(",")[0] for line in lines[1:]] == ["D02005YFHI"]

    shown = CliRunner().invoke(main, ["invoices", "show", "G000024130", *args])
    assert shown.exit_code == 0, shown.output
    assert "G000024131" in shown.stdout  # its amendment

    missing = CliRunner().invoke(main, ["invoices", "show", "G999999990", *args])
    assert missing.exit_code == 4
    assert "HTTP 404" in missing.stderr and "request id" in missing.stderr


def test_bad_credentials_exit_3(runtime: Runtime, args: list[str]) -> None:
    result = CliRunner().invoke(
        main,
        ["invoices", "list", "--client-id", "nobody", "--client-secret", "x",
         "--tenant", "0e195b37-4574-4539-bc42-0e539b9684c0", *args],
    )  # fmt: skip
    assert result.exit_code == 3
    assert "HTTP 401" in result.stderr
