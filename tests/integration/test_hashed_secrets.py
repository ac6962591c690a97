"""Client secrets are stored hashed, printed once, and verified at the token endpoint (issue 18)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from billport.cli import main
from billport.settings import load_settings
from billport.store.clients import get_client, hash_secret, secret_matches
from billport.store.db import create_engine, migrate
from billport.store.tables import partners
from tests.support.data import DEMO_TENANT
from tests.support.factory import app_client, opened

NOW = "2026-11-21T12:00:00Z"
SECRET_LINE = re.compile(r"client of (\S+): (\S+) secret ([0-9a-f]{64})")


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def seed_demo_store(data_dir: Path) -> dict[str, tuple[str, str]]:
    """``billport seed --demo`` into ``data_dir``; tenant -> (client id, secret) it printed."""
    result = CliRunner().invoke(
        main, ["seed", "--demo", "--data-dir", str(data_dir)], env={"BILLPORT_NOW": NOW}
    )
    assert result.exit_code == 0, result.output
    assert "secrets shown once" in result.output
    found = {m[1]: (m[2], m[3]) for m in SECRET_LINE.finditer(result.output)}
    assert len(found) == 2 and DEMO_TENANT in found
    return found


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def token_form(client_id: str, secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default",
    }


@pytest.mark.slow  # two demo seeds
def test_fresh_stores_keep_no_plain_secret_and_differ(tmp_path: Path, umask_022: None) -> None:
    first = seed_demo_store(tmp_path / "a")
    second = seed_demo_store(tmp_path / "b")
    assert {s for _, s in first.values()}.isdisjoint({s for _, s in second.values()})
    for data_dir, printed in ((tmp_path / "a", first), (tmp_path / "b", second)):
        for _, secret in printed.values():
            assert files_holding(data_dir, secret.encode()) == []
    settings = load_settings(environ={}, data_dir=tmp_path / "a", now=NOW)
    client_id, secret = first[DEMO_TENANT]
    with opened(settings) as runtime, app_client(runtime) as client:
        path = f"/{DEMO_TENANT}/oauth2/v2.0/token"
        assert client.post(path, data=token_form(client_id, secret)).status_code == 200
        other = second[DEMO_TENANT][1]
        for wrong in (other, secret.upper(), secret[:-1], "é" + secret):
            refused = client.post(path, data=token_form(client_id, wrong))
            assert refused.status_code == 401, wrong
            assert refused.json()["error"] == "invalid_client"
    # the server (key files, WAL, request log) wrote no plain secret either
    assert files_holding(tmp_path / "a", secret.encode()) == []


def test_rotate_prints_a_new_secret_once_and_retires_the_old(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = load_settings(environ={}, data_dir=data_dir, now=NOW)
    with opened(settings) as runtime:
        from tests.support.tokens import make_partner

        old = make_partner(runtime.db, DEMO_TENANT, is_default=True)
    result = CliRunner().invoke(main, ["clients", "rotate", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    new = re.search(r"Client secret:  ([0-9a-f]{64})  \(shown once", result.output)
    assert new is not None and old.client_id in result.output
    with opened(settings) as runtime, app_client(runtime) as client:
        path = f"/{DEMO_TENANT}/oauth2/v2.0/token"
        assert client.post(path, data=token_form(old.client_id, new[1])).status_code == 200
        assert client.post(path, data=token_form(old.client_id, str(old.secret))).status_code == 401
    assert files_holding(data_dir, new[1].encode()) == []
    unknown = CliRunner().invoke(
        main, ["clients", "rotate", "--data-dir", str(data_dir), "--client-id", "nobody"]
    )
    assert unknown.exit_code != 0 and "nobody" in unknown.output


def test_hash_is_salted_and_checked() -> None:
    assert hash_secret("s") != hash_secret("s")  # a per-client salt
    stored = hash_secret("s3cret~with/odd:chars")
    assert secret_matches(stored, "s3cret~with/odd:chars")
    assert not secret_matches(stored, "s3cret~with/odd:char")
    for broken in ("", "s3cret", "hmac-sha256$zz$00", "md5$00$00", stored.replace("$", "", 1)):
        assert not secret_matches(broken, "s3cret~with/odd:chars")


def test_migration_hashes_existing_plain_secrets(tmp_path: Path) -> None:
    """A store at revision 0004 with a plain secret: after the upgrade the secret still
    works, and the SQLite files hold no trace of it."""
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    secret = "0123456789abcdef" * 4
    try:
        migrate(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                partners.insert().values(
                    tenant_id=DEMO_TENANT, name="p", mpn_id="1", domain_name="d", country="US",
                    is_default=True, created_at=datetime(2024, 1, 1, tzinfo=UTC),
                )
            )  # fmt: skip
            conn.execute(
                sa.text(
                    "INSERT INTO clients (client_id, tenant_id, display_name, secret, roles, "
                    "created_at) VALUES ('c1', :t, 'app', :s, 'r', '2024-01-01 00:00:00')"
                ),
                {"t": DEMO_TENANT, "s": secret},
            )
        migrate(engine)
        with engine.connect() as conn:
            client = get_client(conn, "c1")
            columns = {c["name"] for c in sa.inspect(conn).get_columns("clients")}
    finally:
        engine.dispose()
    assert client is not None and client.secret is None
    assert secret_matches(client.secret_hash, secret)
    assert "secret" not in columns
    assert files_holding(tmp_path, secret.encode()) == []
