"""validate_token, rule by rule, with no HTTP and no database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, issue_token
from billport.auth.keys import KeyRing
from billport.auth.remote import RemoteJwks
from billport.auth.validation import (
    LEEWAY,
    PERSONAL_ACCOUNT_TENANT,
    Principal,
    has_permission,
    validate_token,
)
from billport.errors import AuthenticationError, ConfigurationError, PermissionDenied
from billport.settings import Settings, load_settings

TENANT = "6f1c3b2a-4d5e-4f60-8a71-92b3c4d5e6f7"
CLIENT = "11111111-2222-4333-8444-555555555555"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}, data_dir=tmp_path, now=NOW.isoformat())


@pytest.fixture(scope="module")
def keys() -> KeyRing:
    return KeyRing.ephemeral()


def _token(keys: KeyRing, settings: Settings, **kw: Any) -> str:
    args: dict[str, Any] = {"tenant_id": TENANT, "client_id": CLIENT, "audience": GRAPH_AUDIENCE}
    return issue_token(keys, settings, **(args | kw))


def _validate(
    token: str, keys: KeyRing, settings: Settings, audience: str = GRAPH_AUDIENCE, **kw: Any
) -> Principal:
    now = kw.pop("now", NOW)
    return validate_token(token, expected_audience=audience, keys=keys, settings=settings, now=now)


def test_valid(keys: KeyRing, settings: Settings) -> None:
    principal = _validate(_token(keys, settings), keys, settings)
    assert (principal.tenant_id, principal.client_id, principal.audience) == (
        TENANT,
        CLIENT,
        GRAPH_AUDIENCE,
    )
    assert principal.claims["ver"] == "2.0"


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(hours=1) + LEEWAY - timedelta(seconds=1), True),  # just inside the leeway
        (timedelta(hours=1) + LEEWAY, False),  # expired
        (-LEEWAY + timedelta(seconds=1), True),  # slightly early clock
        (-LEEWAY - timedelta(seconds=1), False),  # not yet valid
    ],
)
def test_lifetime_and_leeway(
    keys: KeyRing, settings: Settings, offset: timedelta, accepted: bool
) -> None:
    token = _token(keys, settings, now=NOW)
    if accepted:
        _validate(token, keys, settings, now=NOW + offset)
    else:
        with pytest.raises(AuthenticationError, match="Lifetime validation failed"):
            _validate(token, keys, settings, now=NOW + offset)


@pytest.mark.parametrize(
    "aud", ["00000003-0000-0000-c000-000000000000", [GRAPH_AUDIENCE, "api://other"]]
)
def test_audience_alias_and_list(keys: KeyRing, settings: Settings, aud: object) -> None:
    _validate(_token(keys, settings, extra_claims={"aud": aud}), keys, settings)


@pytest.mark.parametrize("aud", [PARTNER_CENTER_AUDIENCE, None, 42, ["api://other"]])
def test_wrong_audience(keys: KeyRing, settings: Settings, aud: object) -> None:
    with pytest.raises(AuthenticationError, match="Invalid audience"):
        _validate(_token(keys, settings, extra_claims={"aud": aud}), keys, settings)


def test_partner_center_accepts_its_app_id(keys: KeyRing, settings: Settings) -> None:
    token = _token(keys, settings, audience="fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd", roles=())
    assert _validate(token, keys, settings, PARTNER_CENTER_AUDIENCE).tenant_id == TENANT


@pytest.mark.parametrize("exp", ["soon", True, None])
def test_bad_exp(keys: KeyRing, settings: Settings, exp: object) -> None:
    with pytest.raises(AuthenticationError, match="exp"):
        _validate(_token(keys, settings, extra_claims={"exp": exp}), keys, settings)


def test_personal_account_tenant(keys: KeyRing, settings: Settings) -> None:
    with pytest.raises(PermissionDenied, match="Personal"):
        _validate(_token(keys, settings, tenant_id=PERSONAL_ACCOUNT_TENANT), keys, settings)


def test_graph_permission(keys: KeyRing, settings: Settings) -> None:
    with pytest.raises(PermissionDenied, match="PartnerBilling.Read.All"):
        _validate(_token(keys, settings, roles=("Directory.Read.All",)), keys, settings)
    delegated = _token(keys, settings, roles=(), extra_claims={"scp": "PartnerBilling.Read.All"})
    _validate(delegated, keys, settings)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"roles": ["PartnerBilling.Read.All"]}, True),
        ({"scp": "openid PartnerBilling.Read.All"}, True),
        ({"scp": "PartnerBilling.Read.AllX"}, False),
        ({"roles": "PartnerBilling.Read.All"}, False),  # roles must be a list
        ({"scp": ["PartnerBilling.Read.All"]}, False),  # scp must be a string
        ({}, False),
    ],
)
def test_has_permission(claims: dict[str, Any], expected: bool) -> None:
    assert has_permission(claims, "PartnerBilling.Read.All") is expected


def test_custom_dev_issuer(keys: KeyRing, settings: Settings) -> None:
    custom = settings.replace(dev_issuer="https://idp.example")
    token = _token(keys, custom)
    assert _validate(token, keys, custom).tenant_id == TENANT
    with pytest.raises(AuthenticationError, match="Invalid issuer"):
        _validate(token, keys, settings)


# --- an external issuer, trusted by JWKS URL ---------------------------------------------

ENTRA = "https://login.microsoftonline.com/{tenantid}/v2.0"
JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"


@pytest.fixture
def external() -> KeyRing:
    return KeyRing.ephemeral()  # plays Entra ID


@pytest.fixture
def trusting(
    keys: KeyRing, external: KeyRing, settings: Settings
) -> Iterator[tuple[KeyRing, Settings]]:
    def serve(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        return httpx.Response(200, json=external.jwks())

    client = httpx.Client(transport=httpx.MockTransport(serve))
    ring = KeyRing(keys.private_key, sas_key=keys.sas_key, admin_token="x")
    ring.trusted = RemoteJwks(JWKS_URL, client=client)
    yield ring, settings.replace(trusted_issuer=ENTRA, trusted_jwks_url=JWKS_URL)
    client.close()


def _entra_token(external: KeyRing, settings: Settings, **claims: Any) -> str:
    iss = ENTRA.replace("{tenantid}", TENANT)
    return _token(external, settings, extra_claims={"iss": iss} | claims)


def test_external_issuer(external: KeyRing, trusting: tuple[KeyRing, Settings]) -> None:
    ring, settings = trusting
    principal = _validate(_entra_token(external, settings), ring, settings)
    assert principal.tenant_id == TENANT


def test_external_issuer_tenant_must_match_tid(
    external: KeyRing, trusting: tuple[KeyRing, Settings]
) -> None:
    ring, settings = trusting
    token = _entra_token(external, settings, tid="0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")
    with pytest.raises(AuthenticationError, match="Invalid issuer"):
        _validate(token, ring, settings)


def test_external_issuer_replaces_dev_issuer(
    keys: KeyRing, trusting: tuple[KeyRing, Settings]
) -> None:
    ring, settings = trusting
    with pytest.raises(AuthenticationError, match="Invalid issuer"):
        _validate(_token(keys, settings), ring, settings)


def test_external_issuer_key_must_be_in_jwks(
    keys: KeyRing, trusting: tuple[KeyRing, Settings]
) -> None:
    ring, settings = trusting
    forged = _entra_token(keys, settings)  # right issuer, signed by a key Entra never published
    with pytest.raises(AuthenticationError, match="unknown"):
        _validate(forged, ring, settings)


def test_rs256_only(keys: KeyRing, settings: Settings) -> None:
    claims = jwt.decode(_token(keys, settings), options={"verify_signature": False})
    hs = jwt.encode(claims, "a-shared-secret-of-sufficient-length!!", algorithm="HS256")
    with pytest.raises(AuthenticationError, match="HS256"):
        _validate(hs, keys, settings)
    ps = jwt.encode(claims, keys.private_key, algorithm="PS256", headers={"kid": keys.kid})
    with pytest.raises(AuthenticationError, match="PS256"):
        _validate(ps, keys, settings)


def _stamp(at: datetime) -> int:
    return int(at.timestamp())


@pytest.mark.parametrize(
    ("issued", "accepted"),
    [
        (NOW + LEEWAY, True),  # a clock ahead by the leeway
        (NOW + LEEWAY + timedelta(seconds=1), False),  # issued in the future
        (NOW + timedelta(days=365), False),
    ],
)
def test_iat_in_the_future(
    keys: KeyRing, settings: Settings, issued: datetime, accepted: bool
) -> None:
    claims = {"iat": _stamp(issued), "exp": _stamp(NOW + timedelta(hours=1))}
    token = _token(keys, settings, extra_claims=claims)
    if accepted:
        _validate(token, keys, settings)
    else:
        with pytest.raises(AuthenticationError, match="issued in the future"):
            _validate(token, keys, settings)


def test_iat_must_be_a_number(keys: KeyRing, settings: Settings) -> None:
    with pytest.raises(AuthenticationError, match="iat"):
        _validate(_token(keys, settings, extra_claims={"iat": "now"}), keys, settings)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"exp": timedelta(days=365 * 100)}, False),  # iat + 100 years
        ({"exp": timedelta(seconds=86400)}, True),  # exactly the maximum
        ({"exp": timedelta(seconds=86401)}, False),
        ({"iat": None, "exp": timedelta(days=2)}, False),  # measured from nbf
        ({"iat": None, "nbf": None, "exp": timedelta(days=2)}, False),  # from now
        ({"iat": None, "nbf": None, "exp": timedelta(hours=23)}, True),
    ],
)
def test_max_token_lifetime(
    keys: KeyRing, settings: Settings, claims: dict[str, timedelta | None], accepted: bool
) -> None:
    assert settings.max_token_lifetime == 86400
    signed = jwt.decode(_token(keys, settings), options={"verify_signature": False})
    for name, span in claims.items():
        if span is None:
            del signed[name]  # the dev issuer always sets iat and nbf; drop them by hand
        else:
            signed[name] = _stamp(NOW + span)
    token = jwt.encode(signed, keys.private_key, algorithm="RS256", headers={"kid": keys.kid})
    if accepted:
        _validate(token, keys, settings)
    else:
        with pytest.raises(AuthenticationError, match="lives longer than 86400 seconds"):
            _validate(token, keys, settings)


def test_lifetime_rules_apply_on_every_call(keys: KeyRing, tmp_path: Path) -> None:
    """Verified claims are cached per token; the lifetime cap is not."""
    generous = load_settings(environ={}, data_dir=tmp_path, now=NOW.isoformat())
    token = _token(keys, generous, extra_claims={"exp": _stamp(NOW + timedelta(hours=20))})
    _validate(token, keys, generous)
    strict = load_settings(
        environ={}, data_dir=tmp_path, now=NOW.isoformat(), max_token_lifetime=3600
    )
    with pytest.raises(AuthenticationError, match="lives longer"):
        _validate(token, keys, strict)


def test_max_token_lifetime_is_configurable(keys: KeyRing, tmp_path: Path) -> None:
    environ = {"BILLPORT_MAX_TOKEN_LIFETIME": "172800"}
    settings = load_settings(environ=environ, data_dir=tmp_path, now=NOW.isoformat())
    token = _token(keys, settings, extra_claims={"exp": _stamp(NOW + timedelta(days=2))})
    _validate(token, keys, settings)


def test_token_lifetime_may_not_exceed_the_maximum(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="BILLPORT_MAX_TOKEN_LIFETIME=3600"):
        load_settings(
            environ={"BILLPORT_MAX_TOKEN_LIFETIME": "3600", "BILLPORT_TOKEN_LIFETIME": "7200"}
        )


def test_dev_issuer_never_issues_beyond_the_maximum(keys: KeyRing, settings: Settings) -> None:
    _validate(_token(keys, settings, lifetime=settings.max_token_lifetime), keys, settings)
    with pytest.raises(ConfigurationError, match="exceeds BILLPORT_MAX_TOKEN_LIFETIME"):
        _token(keys, settings, lifetime=settings.max_token_lifetime + 1)
