"""``billport resellers`` on the command line, over a seeded store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from billport.cli import main
from billport.settings import Settings
from billport.store.db import Database
from billport.store.tables import customers, line_items
from tests.support.data import DEMO_TENANT, seed_demo

RESELLER = "dddddddd-0000-4000-8000-00000000000d"
RULES_TOML = """
[default]
percent = 10

[[rules]]
reseller = "dddddddd-0000-4000-8000-00000000000d"
chargeType = "Cycle charge"
percent = 12.5
"""


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    store = [
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        settings.effective_database_url,
    ]
    command, *rest = args
    result = CliRunner().invoke(main, ["resellers", command, *store, *rest])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seeded(settings: Settings, database: Database) -> list[str]:
    seed_demo(database, settings)
    with database.connect() as conn:
        query = sa.select(customers.c.customer_id).where(customers.c.tenant_id == DEMO_TENANT)
        return sorted(row[0] for row in conn.execute(query))[:2]


def test_add_rules_list_refresh_remove(
    settings: Settings, database: Database, seeded: list[str], tmp_path: Path
) -> None:
    args = ["--name", "Reseller D", "--mpn-id", "7770001"]
    code, out, err = run(settings, "add", RESELLER, *args, "--customer", seeded[0])
    assert code == 0, err
    assert f"reseller {RESELLER} (Reseller D) added" in out
    assert "Client secret:" in out and "rows" in out
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_TOML)
    code, out, err = run(settings, "rules", str(rules))
    assert code == 0, err
    assert "1 rule(s) set" in out and "row set(s) changed" in out
    code, out, _ = run(settings, "rules")
    shown = json.loads(out)
    assert shown["default"] == {"percent": "10"}
    assert shown["rules"][0]["percent"] == "12.5"  # TOML floats read as exact decimals
    code, out, _ = run(settings, "list", "--json")
    listed = json.loads(out)
    assert [(r["tenantId"], r["customers"]) for r in listed] == [(RESELLER, [seeded[0]])]
    assert listed[0]["tier2MpnIds"] == ["7770001"]  # its own MPN id names its rows too
    code, out, _ = run(settings, "refresh")
    assert code == 0 and "0 row set(s) changed" in out  # nothing new: nothing rewritten
    code, out, err = run(settings, "add", RESELLER, *args, "--customer", seeded[1])
    assert code == 0 and "changed" in out, err
    with database.connect() as conn:
        owned = conn.execute(
            sa.select(line_items.c.customer_id).where(line_items.c.tenant_id == RESELLER).distinct()
        ).all()
    assert {row[0] for row in owned} == {seeded[1]}  # the list given replaces the old one
    code, out, _ = run(settings, "remove", RESELLER)
    assert code == 0 and "removed" in out
    code, out, _ = run(settings, "list")
    assert "no resellers" in out


def test_bad_input_is_a_clear_error(settings: Settings, seeded: list[str], tmp_path: Path) -> None:
    code, _, err = run(settings, "add", "not-a-guid", "--name", "X", "--customer", seeded[0])
    assert code == 2 and "tenant" in err.lower()
    code, _, err = run(settings, "add", DEMO_TENANT, "--name", "X", "--customer", seeded[0])
    assert code == 2 and "own provider" in err
    code, _, err = run(settings, "add", RESELLER, "--name", "X")
    assert code == 2 and "owns customers" in err
    bad = tmp_path / "rules.json"
    bad.write_text('{"rules": [{"percent": "ten"}]}')
    code, _, err = run(settings, "rules", str(bad))
    assert code == 2 and "rules[0].percent: not a decimal" in err
    code, _, err = run(settings, "remove", RESELLER)
    assert code != 0 and "no reseller" in err


def test_no_store_is_created_by_accident(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["resellers", "list", "--data-dir", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no billport store" in result.stderr
    assert not (tmp_path / "x").exists()
