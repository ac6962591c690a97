"""``billport token`` against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, token_for_tenant
from billport.auth.keys import KeyRing
from billport.auth.validation import Principal, validate_token
from billport.cli import main
from billport.clock import clock_from_settings
from billport.errors import ConfigurationError, NotFound
from billport.settings import Settings
from billport.store.db import Database
from tests.support.tokens import OTHER_TENANT, PARTNER_TENANT, make_partner


def _invoke(settings: Settings, *args: str, keys: bool = True) -> tuple[int, str, str]:
    """``billport token`` over the store; ``keys``: the server has run, so its keys exist."""
    if keys:
        KeyRing.load_or_create(settings)
    store = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    result = CliRunner().invoke(main, ["token", *store, *args], env={"BILLPORT_NOW": settings.now})
    return result.exit_code, result.stdout, result.stderr


def _principal(settings: Settings, token: str, audience: str = GRAPH_AUDIENCE) -> Principal:
    return validate_token(
        token,
        expected_audience=audience,
        keys=KeyRing.load_or_create(settings),
        settings=settings,
        now=clock_from_settings(settings)(),
    )


def test_token_for_default_partner(settings: Settings, database: Database) -> None:
    make_partner(database, OTHER_TENANT)
    client = make_partner(database, PARTNER_TENANT, is_default=True)
    code, out, err = _invoke(settings)
    assert code == 0, err
    principal = _principal(settings, out.strip())
    assert principal.tenant_id == PARTNER_TENANT
    assert principal.client_id == client.client_id


def test_token_for_tenant_and_audience(settings: Settings, database: Database) -> None:
    make_partner(database, PARTNER_TENANT, is_default=True)
    make_partner(database, OTHER_TENANT)
    args = ("--tenant", OTHER_TENANT, "--audience", "partner-center", "--lifetime", "120")
    code, out, err = _invoke(settings, *args)
    assert code == 0, err
    principal = _principal(settings, out.strip(), PARTNER_CENTER_AUDIENCE)
    claims = principal.claims
    assert principal.tenant_id == OTHER_TENANT
    assert claims["exp"] - claims["iat"] == 120


def test_empty_store_says_seed_first(settings: Settings, database: Database) -> None:
    code, out, err = _invoke(settings)
    assert code == 2
    assert out == ""
    assert "billport seed --demo" in err


def test_a_store_without_keys_is_refused_and_gets_none(
    settings: Settings, database: Database
) -> None:
    make_partner(database, PARTNER_TENANT, is_default=True)
    code, out, err = _invoke(settings, keys=False)
    assert code == 2 and out == ""
    signing_key = (settings.data_dir / "keys" / "signing-key.pem").absolute()
    assert f"no signing key at {signing_key}: pass --data-dir of the server" in err
    assert not (settings.data_dir / "keys").exists()  # tokens from fresh keys would not work


def test_unknown_tenant(settings: Settings, database: Database) -> None:
    make_partner(database, PARTNER_TENANT)
    code, _, err = _invoke(settings, "--tenant", OTHER_TENANT)
    assert code == 2
    assert OTHER_TENANT in err


def test_token_for_tenant_function(settings: Settings, database: Database) -> None:
    keys = KeyRing.load_or_create(settings)
    with pytest.raises(ConfigurationError):
        token_for_tenant(database, keys, settings)
    make_partner(database, PARTNER_TENANT)
    with pytest.raises(NotFound):
        token_for_tenant(database, keys, settings, tenant_id=OTHER_TENANT)
    token = token_for_tenant(database, keys, settings, audience=PARTNER_CENTER_AUDIENCE)
    assert _principal(settings, token, PARTNER_CENTER_AUDIENCE).tenant_id == PARTNER_TENANT
