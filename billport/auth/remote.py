"""Signing keys of a trusted external issuer (Entra ID, Keycloak...), fetched by JWKS URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from billport.errors import AuthenticationError, ConfigurationError
from billport.settings import Settings

if TYPE_CHECKING:  # httpx loads on the first fetch: `billport token` never needs it
    import httpx

CACHE_SECONDS = 3600.0  # Entra rotates keys with weeks of overlap; an hour is plenty fresh
REFRESH_FLOOR_SECONDS = 30.0  # unknown kids trigger at most one refetch per this interval
FETCH_TIMEOUT_SECONDS = 10.0


def remote_jwks_from_settings(settings: Settings) -> RemoteJwks | None:
    """The external issuer's key cache, or None when no external issuer is configured."""
    if bool(settings.trusted_issuer) != bool(settings.trusted_jwks_url):
        raise ConfigurationError(
            "BILLPORT_TRUSTED_ISSUER and BILLPORT_TRUSTED_JWKS_URL must be set together"
        )
    return RemoteJwks(settings.trusted_jwks_url) if settings.trusted_jwks_url else None


def _parse_jwks(document: Any) -> dict[str | None, rsa.RSAPublicKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: dict[str | None, rsa.RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue  # encryption keys and other key types cannot verify RS256
        key = RSAAlgorithm.from_jwk(jwk)
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        keys[jwk.get("kid")] = public
    return keys


class RemoteJwks:
    """A thread-safe JWKS cache: refetched after an hour, or early when an unknown kid shows up."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str | None, rsa.RSAPublicKey] | None = None
        self._fetched_at = 0.0

    def key(self, kid: str | None) -> rsa.RSAPublicKey | None:
        """The verification key ``kid`` (None: the only key, if there is exactly one)."""
        with self._lock:
            age = self._monotonic() - self._fetched_at
            stale = self._keys is None or age > CACHE_SECONDS
            unknown = self._keys is not None and kid not in self._keys
            if stale or (unknown and age > REFRESH_FLOOR_SECONDS):
                self._refresh()
            keys = self._keys or {}
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid)

    def _refresh(self) -> None:
        import httpx

        try:
            response = self._http().get(self.url)
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            if self._keys is None:
                raise AuthenticationError(
                    "Access token validation failure: the trusted issuer's signing keys "
                    "could not be fetched."
                ) from exc
            # Keep serving the keys we have; a flapping JWKS endpoint must not lock users out.
            keys = self._keys
        self._keys = keys
        self._fetched_at = self._monotonic()

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
