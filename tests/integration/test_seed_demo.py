"""The demo dataset: the documented invoices, amendments, open periods and a second tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from click.testing import CliRunner

from billport.billing.datasets import Dataset
from billport.cli import main
from billport.clock import clock_from_settings
from billport.seed.demo import ensure_demo
from billport.settings import Settings
from billport.store.db import Database
from billport.store.tables import invoices, line_items, partners
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, seed_demo
from tests.support.factory import opened


def _invoice(conn: sa.Connection, invoice_id: str) -> sa.Row:  # type: ignore[type-arg]
    return conn.execute(
        sa.select(invoices).where(
            invoices.c.tenant_id == DEMO_TENANT, invoices.c.invoice_id == invoice_id
        )
    ).one()


def test_demo_has_the_documented_invoices(database: Database, settings: Settings) -> None:
    seed_demo(database, settings)
    with database.connect() as conn:
        default = conn.execute(sa.select(partners).where(partners.c.is_default)).one()
        recurring = _invoice(conn, "D02005YFHI")
        void = _invoice(conn, "G000024130")
        note = _invoice(conn, "G000024131")
        modern = _invoice(conn, DEMO_INVOICE)
    assert default.tenant_id == DEMO_TENANT
    assert (recurring.commerce, recurring.invoice_type, recurring.currency_code) == (
        "legacy", "Recurring", "GBP",
    )  # fmt: skip
    assert recurring.currency_symbol == "£" and recurring.total_charges == Decimal("24606.35")
    assert recurring.paid_amount == Decimal("1000") and recurring.tax_receipts == '["123456"]'
    assert recurring.invoice_date == datetime(2017, 1, 21, tzinfo=UTC)
    assert '"billingProvider":"office"' in recurring.details
    assert (void.document_type, void.currency_code, void.total_charges) == (
        "void_note", "CHF", Decimal("586366"),
    )  # fmt: skip
    assert void.invoice_date == datetime(2018, 2, 8, 1, 22, 47, 603895, tzinfo=UTC)
    assert void.tax_receipts == '["234567"]'
    assert (note.document_type, note.amends_of) == ("adjustment_note", "G000024130")
    assert note.total_charges == Decimal("107661.12")
    assert note.invoice_date == datetime(2018, 2, 8, 18, 44, 37, 538145, tzinfo=UTC)
    assert modern.commerce == "modern" and modern.invoice_type == "OneTime"


def test_demo_line_items(database: Database, settings: Settings) -> None:
    seed_demo(database, settings)
    with database.connect() as conn:
        counts = dict(
            conn.execute(
                sa.select(line_items.c.dataset, sa.func.count())
                .where(line_items.c.invoice_id == DEMO_INVOICE)
                .group_by(line_items.c.dataset)
            ).all()
        )
        total = sum(
            conn.execute(
                sa.select(line_items.c.total).where(
                    line_items.c.invoice_id == DEMO_INVOICE,
                    line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
                )
            ).scalars(),
            Decimal(0),
        )
        modern = _invoice(conn, DEMO_INVOICE)
        unbilled = set(
            conn.execute(
                sa.select(line_items.c.dataset, line_items.c.billing_month, line_items.c.currency)
                .where(line_items.c.tenant_id == DEMO_TENANT, line_items.c.invoice_id.is_(None))
                .distinct()
            ).all()
        )
        tenants = conn.execute(sa.select(sa.func.count(sa.distinct(line_items.c.tenant_id))))
        legacy_lines = conn.execute(
            sa.select(sa.func.count())
            .select_from(line_items)
            .where(line_items.c.invoice_id.in_(["D02005YFHI", "G000024130", "G000024131"]))
        ).scalar()
    assert 200 <= counts[Dataset.BILLED_RECONCILIATION.code] <= 1_000
    assert 200 <= counts[Dataset.BILLED_USAGE.code] <= 1_000
    assert modern.total_charges == total
    for dataset in (Dataset.UNBILLED_RECONCILIATION, Dataset.UNBILLED_USAGE):
        for month in (202610, 202611):
            for currency in ("USD", "EUR"):
                assert (dataset.code, month, currency) in unbilled
    assert tenants.scalar() == 2 and legacy_lines == 0


def test_ensure_demo_seeds_once(database: Database, settings: Settings) -> None:
    clock = clock_from_settings(settings)
    created = ensure_demo(database, settings, clock)
    assert created and all(c.secret for c in created)  # the new clients, secrets in clear
    assert ensure_demo(database, settings, clock) is None


def test_cli_seed_demo_then_refuse_then_reset(settings: Settings) -> None:
    runner = CliRunner()
    env = {"BILLPORT_NOW": settings.now}
    args = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    first = runner.invoke(main, ["seed", "--demo", *args], env=env)
    assert first.exit_code == 0, first.output
    assert DEMO_TENANT in first.output
    again = runner.invoke(main, ["seed", "--line-items", "100", *args], env=env)
    assert again.exit_code == 2 and "--reset" in again.output
    legacy = runner.invoke(main, ["seed", "--invoice", "D02005YFHI", *args], env=env)
    assert legacy.exit_code == 2 and "legacy" in legacy.output
    more = runner.invoke(main, ["seed", "--invoice", DEMO_INVOICE, "--line-items", "5", *args],
                         env=env)  # fmt: skip
    assert more.exit_code == 0 and "extended invoice G016907411" in more.output
    reset = runner.invoke(main, ["seed", "--reset", "--line-items", "100", "--tenants", "1",
                                 "--months", "2", *args], env=env)  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert "seeded 1 tenants" in reset.output


def test_announce_demo_prints_credentials_tokens_and_requests(
    database: Database, settings: Settings
) -> None:
    import jwt

    from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE
    from billport.seed.demo import announce_demo

    lines: list[str] = []
    with opened(settings, database) as runtime:
        created = ensure_demo(database, settings, runtime.clock)
        assert created is not None
        announce_demo(runtime, lines.append, created)
        again: list[str] = []
        announce_demo(runtime, again.append)  # a later start: the secret is not shown
    text = "\n".join(lines)
    secret = next(c.secret for c in created if c.tenant_id == DEMO_TENANT)
    assert secret and DEMO_TENANT in text and f"Client secret:  {secret}  (shown once" in text
    assert secret not in "\n".join(again) and "`billport clients rotate`" in "\n".join(again)
    assert "http://127.0.0.1:8000/v1/invoices?size=200&offset=0" in text
    assert "/v1.0/reports/partners/billing/reconciliation/billed/export" in text
    assert '{"invoiceId": "G016907411", "attributeSet": "full"}' in text
    tokens = [line.strip() for line in text.splitlines() if line.startswith("  ey")]
    audiences = [jwt.decode(t, options={"verify_signature": False})["aud"] for t in tokens]
    assert audiences == [PARTNER_CENTER_AUDIENCE, GRAPH_AUDIENCE]
