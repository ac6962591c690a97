"""RemoteJwks: caching, refetch on unknown kid, surviving a flapping JWKS endpoint."""

from __future__ import annotations

import httpx
import pytest

from billport.auth.keys import KeyRing
from billport.auth.remote import (
    CACHE_SECONDS,
    REFRESH_FLOOR_SECONDS,
    RemoteJwks,
    remote_jwks_from_settings,
)
from billport.errors import AuthenticationError, ConfigurationError
from billport.settings import load_settings

URL = "https://idp.example/keys"


class FakeIdp:
    def __init__(self) -> None:
        self.rings = [KeyRing.ephemeral()]
        self.calls = 0
        self.fail = False
        self.time = 1000.0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.fail:
            return httpx.Response(503)
        keys = [k for ring in self.rings for k in ring.jwks()["keys"]]
        keys.append({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"})  # ignored
        return httpx.Response(200, json={"keys": keys})

    def jwks(self) -> RemoteJwks:
        client = httpx.Client(transport=httpx.MockTransport(self.handle))
        return RemoteJwks(URL, client=client, monotonic=lambda: self.time)


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


def test_fetches_once_and_caches(idp: FakeIdp) -> None:
    jwks = idp.jwks()
    kid = idp.rings[0].kid
    assert jwks.key(kid) is not None
    assert jwks.key(kid) is not None
    assert idp.calls == 1
    idp.time += CACHE_SECONDS + 1
    jwks.key(kid)
    assert idp.calls == 2
    jwks.close()


def test_unknown_kid_refetches_at_most_every_floor(idp: FakeIdp) -> None:
    jwks = idp.jwks()
    jwks.key(idp.rings[0].kid)
    idp.rings.append(KeyRing.ephemeral())  # key rotation at the issuer
    new_kid = idp.rings[1].kid
    assert jwks.key(new_kid) is None  # too soon after the last fetch
    idp.time += REFRESH_FLOOR_SECONDS + 1
    assert jwks.key(new_kid) is not None
    assert idp.calls == 2


def test_kidless_token_uses_the_only_rsa_key(idp: FakeIdp) -> None:
    assert idp.jwks().key(None) is not None


def test_outage_keeps_cached_keys(idp: FakeIdp) -> None:
    jwks = idp.jwks()
    kid = idp.rings[0].kid
    jwks.key(kid)
    idp.fail = True
    idp.time += CACHE_SECONDS + 1
    assert jwks.key(kid) is not None


def test_outage_without_cache_is_401(idp: FakeIdp) -> None:
    idp.fail = True
    with pytest.raises(AuthenticationError, match="could not be fetched"):
        idp.jwks().key("any")


@pytest.mark.parametrize(
    "changes", [{"trusted_issuer": "https://idp.example"}, {"trusted_jwks_url": URL}]
)
def test_issuer_and_jwks_url_go_together(tmp_path: object, changes: dict[str, str]) -> None:
    settings = load_settings(environ={}, data_dir=str(tmp_path), **changes)
    with pytest.raises(ConfigurationError, match="set together"):
        remote_jwks_from_settings(settings)


def test_no_external_issuer_by_default() -> None:
    assert remote_jwks_from_settings(load_settings(environ={})) is None
