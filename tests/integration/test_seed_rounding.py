"""The seeded demo follows Microsoft's ``Subtotal`` rules to the cent (SQLite and PostgreSQL).

Every reconciliation row in the store is checked with the very rules ``billport verify``
uses (:func:`billport.lake.verify.check_row`); every modern invoice's ``totalCharges`` is the
sum of its rows' ``Total``; and a lake synced from a ``--demo`` server verifies.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from billport.billing.datasets import Dataset
from billport.cli import main
from billport.lake.verify import check_row
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.db import Database
from billport.store.tables import invoices, line_items
from tests.support.data import DEMO_INVOICE, seed_demo
from tests.support.lake import live_billport, run_sync

RECON = (Dataset.BILLED_RECONCILIATION.code, Dataset.UNBILLED_RECONCILIATION.code)


def test_every_demo_reconciliation_row_follows_the_rules(
    database: Database, settings: Settings
) -> None:
    seed_demo(database, settings)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    checked: dict[int, int] = defaultdict(int)
    query = sa.select(line_items.c.tenant_id, line_items.c.invoice_id, line_items.c.dataset,
                      line_items.c.doc_full).where(line_items.c.dataset.in_(RECON))  # fmt: skip
    with database.connect() as conn:
        for number, (tenant, invoice, dataset, doc) in enumerate(conn.execute(query), 1):
            row = json.loads(doc, parse_float=Decimal)
            assert check_row(row, invoice or "", "store", number) == [], row
            checked[dataset] += 1
            if invoice:
                sums[(tenant, invoice)] += row["Total"]
        modern = conn.execute(sa.select(invoices).where(invoices.c.commerce == "modern")).all()
    assert all(checked[code] > 100 for code in RECON), checked
    assert any(invoice == DEMO_INVOICE for _, invoice in sums)
    for invoice in modern:
        assert invoice.total_charges == sums[(invoice.tenant_id, invoice.invoice_id)], invoice


@pytest.mark.slow
def test_a_lake_synced_from_the_demo_verifies(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))  # the CLI signs at the server's clock

    def load(runtime: Runtime) -> None:
        seed_demo(runtime.db, settings)

    lake = tmp_path / "lake"
    with live_billport(settings, load) as live:
        code, lines = run_sync(live, lake, "--datasets", "billed-reconciliation")
        assert code == 0, lines
    result = CliRunner().invoke(main, ["verify", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("OK\n")
