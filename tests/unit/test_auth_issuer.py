"""The dev issuer's token shape and scope mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from billport.auth.issuer import (
    GRAPH_AUDIENCE,
    PARTNER_CENTER_AUDIENCE,
    audience_for_scope,
    dev_issuer,
    issue_token,
)
from billport.auth.keys import KeyRing
from billport.settings import Settings, load_settings

TENANT = "6f1c3b2a-4d5e-4f60-8a71-92b3c4d5e6f7"
CLIENT = "11111111-2222-4333-8444-555555555555"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}, data_dir=tmp_path, now="2026-11-21T12:00:00Z")


@pytest.fixture(scope="module")
def keys() -> KeyRing:
    return KeyRing.ephemeral()


def _decode(token: str) -> tuple[dict[str, object], dict[str, object]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def test_claims_look_like_entra_v2(keys: KeyRing, settings: Settings) -> None:
    token = issue_token(keys, settings, tenant_id=TENANT, client_id=CLIENT, audience=GRAPH_AUDIENCE)
    header, claims = _decode(token)
    assert header == {"alg": "RS256", "kid": keys.kid, "typ": "JWT"}
    assert claims["iss"] == f"https://login.billport.local/{TENANT}/v2.0"
    assert claims["aud"] == GRAPH_AUDIENCE
    assert claims["tid"] == TENANT
    assert claims["azp"] == claims["appid"] == CLIENT
    assert claims["oid"] == claims["sub"]
    assert claims["roles"] == ["PartnerBilling.Read.All"]
    assert claims["ver"] == "2.0"
    # Issued at the pinned clock, for settings.token_lifetime seconds.
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] == int(NOW.timestamp()) + 3600


def test_object_id_is_stable_per_client(keys: KeyRing, settings: Settings) -> None:
    def oid(client: str) -> object:
        token = issue_token(keys, settings, tenant_id=TENANT, client_id=client, audience="x")
        return _decode(token)[1]["oid"]

    assert oid(CLIENT) == oid(CLIENT) != oid("another-client")


def test_overrides(keys: KeyRing, settings: Settings) -> None:
    token = issue_token(
        keys,
        settings,
        tenant_id=TENANT,
        client_id=CLIENT,
        audience=PARTNER_CENTER_AUDIENCE,
        roles=(),
        now=datetime(2030, 1, 1, tzinfo=UTC),
        lifetime=60,
        extra_claims={"scp": "user_impersonation", "aud": "custom"},
    )
    claims = _decode(token)[1]
    assert "roles" not in claims
    assert claims["exp"] - claims["iat"] == 60
    assert claims["iat"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    assert (claims["scp"], claims["aud"]) == ("user_impersonation", "custom")


def test_dev_issuer_ignores_trailing_slash(settings: Settings) -> None:
    settings = settings.replace(dev_issuer="https://idp.example/")
    assert dev_issuer(settings, "t") == "https://idp.example/t/v2.0"


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        ("https://graph.microsoft.com/.default", GRAPH_AUDIENCE),
        ("https://Graph.Microsoft.com/.default", GRAPH_AUDIENCE),
        ("00000003-0000-0000-c000-000000000000/.default", GRAPH_AUDIENCE),
        ("https://api.partnercenter.microsoft.com/.default", PARTNER_CENTER_AUDIENCE),
        ("fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd/.default", PARTNER_CENTER_AUDIENCE),
        ("https://graph.microsoft.com/PartnerBilling.Read.All", None),
        ("https://graph.windows.net/.default", None),
        ("", None),
    ],
)
def test_audience_for_scope(scope: str, audience: str | None) -> None:
    assert audience_for_scope(scope) == audience
