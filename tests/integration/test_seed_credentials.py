"""Development client credentials come from the CSPRNG, the data from the seed (issue 18)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from billport.cli import main
from billport.settings import Settings, load_settings
from billport.store.db import Database
from billport.store.tables import clients, invoices, line_items
from tests.support.data import DEMO_TENANT, seed_demo, seed_small

NOW = "2026-11-21T12:00:00Z"


def _contents(db: Database) -> tuple[list[tuple[str, str]], list[object], list[object]]:
    """(client id, secret hash) pairs, and every line item and invoice row, in a stable order."""
    with db.connect() as conn:
        credentials = [
            (r.client_id, r.secret_hash)
            for r in conn.execute(sa.select(clients).order_by(clients.c.tenant_id))
        ]
        lines = list(conn.execute(sa.select(line_items).order_by(line_items.c.id)).all())
        bills = conn.execute(
            sa.select(invoices).order_by(invoices.c.tenant_id, invoices.c.invoice_id)
        ).all()
    return credentials, lines, list(bills)


def _assert_fresh_credentials_same_data(first: Database, second: Database) -> None:
    credentials, lines, bills = _contents(first)
    other_credentials, other_lines, other_bills = _contents(second)
    assert len(credentials) == len(other_credentials) == 2
    ids = {c for c, _ in credentials} | {c for c, _ in other_credentials}
    secrets = {s for _, s in credentials} | {s for _, s in other_credentials}
    assert len(ids) == len(secrets) == 4  # no id or secret shared, within or across stores
    assert all(s.startswith("hmac-sha256$") for s in secrets)  # hashes only, salted
    assert lines and lines == other_lines
    assert bills and bills == other_bills


def _sqlite(path: Path) -> Database:
    return Database.from_settings(load_settings(environ={}, data_dir=path, now=NOW))


def test_two_demo_stores_differ_in_credentials_only(tmp_path: Path) -> None:
    """``billport seed --demo`` twice: other client ids and secrets, the same line items."""
    runner = CliRunner()
    stores = [tmp_path / "a", tmp_path / "b"]
    for data_dir in stores:
        result = runner.invoke(
            main, ["seed", "--demo", "--data-dir", str(data_dir)], env={"BILLPORT_NOW": NOW}
        )
        assert result.exit_code == 0, result.output
        assert DEMO_TENANT in result.output
    first, second = (_sqlite(p) for p in stores)
    try:
        _assert_fresh_credentials_same_data(first, second)
    finally:
        first.dispose()
        second.dispose()


def test_same_seed_fresh_credentials_on_every_backend(
    database: Database, settings: Settings
) -> None:
    """The seeded demo and a generated store: a second SQLite store gets new credentials."""
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    try:
        seed_demo(database, settings)
        seed_demo(reference, settings)
        _assert_fresh_credentials_same_data(database, reference)
    finally:
        reference.dispose()


def test_generated_store_credentials_are_not_the_seed(
    database: Database, settings: Settings
) -> None:
    reference = Database.from_settings(
        settings.replace(database_url="", data_dir=settings.data_dir / "reference")
    )
    try:
        seed_small(database, settings, line_items=300, seed=1)
        seed_small(reference, settings, line_items=300, seed=1)
        _assert_fresh_credentials_same_data(database, reference)
    finally:
        reference.dispose()
