"""Where bearer tokens come from: a ready token, billport's token endpoint, or Entra ID.

A credential answers ``token(scope)`` for a ``<resource>/.default`` scope and caches each
token until shortly before it expires, so a long export never sends an expired one and a
short command never asks twice. ``invalidate(scope)`` drops a token the service refused.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from billport.client.errors import AuthenticationFailed, check, error_for
from billport.client.http import HttpClient

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is renewed


class Credential(Protocol):
    def token(self, scope: str) -> str: ...

    def invalidate(self, scope: str) -> None: ...


class StaticToken:
    """One ready bearer token (``--token``), used for every scope as given."""

    def __init__(self, token: str) -> None:
        self._token = token.removeprefix("Bearer ").strip()

    def token(self, scope: str) -> str:
        return self._token

    def invalidate(self, scope: str) -> None:
        """Nothing to renew: a refused static token is simply refused again."""


@dataclass
class _Cached:
    token: str
    renew_at: float


class _CachingCredential:
    """Caches ``_fetch(scope) -> (token, expires_in)`` per scope."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def _fetch(self, scope: str) -> tuple[str, float]:
        raise NotImplementedError

    def token(self, scope: str) -> str:
        with self._lock:  # download threads share one credential
            cached = self._cache.get(scope)
            now = self._clock()
            if cached is not None and now < cached.renew_at:
                return cached.token
            token, expires_in = self._fetch(scope)
            margin = min(REFRESH_MARGIN, expires_in / 2)
            self._cache[scope] = _Cached(token, now + expires_in - margin)
            return token

    def invalidate(self, scope: str) -> None:
        with self._lock:
            self._cache.pop(scope, None)


class BillportCredential(_CachingCredential):
    """Client credentials against the dev issuer (``{server}/{tenant}/oauth2/v2.0/token``)."""

    def __init__(
        self,
        authority: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        http: HttpClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self.url = f"{authority.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self.client_id = client_id
        self._secret = client_secret
        self._http = http

    def _fetch(self, scope: str) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
            "scope": scope,
        }
        response = self._http.request("POST", self.url, data=form)
        if response.status_code in (400, 401):
            raise _auth_error(response)
        body = check(response).json()
        return str(body["access_token"]), float(body.get("expires_in", 3600))


def _auth_error(response: httpx.Response) -> AuthenticationFailed:
    """A refused token request is an authentication failure whatever its status."""
    error = error_for(response)
    return AuthenticationFailed(
        error.status, error.error_code, error.detail, error.request_id, url=error.url
    )


class MsalHttpClient:
    """msal's minimal HTTP interface over our retrying client (so tests can route it too)."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if isinstance(data, dict):  # msal hands the certificate's client assertion as bytes
            form = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
            body: dict[str, Any] = {"data": form}
        else:
            body = {"content": data}
        return self._http.request("POST", url, params=params, headers=headers, **body)

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        return self._http.request("GET", url, params=params, headers=headers)

    def close(self) -> None:
        """The underlying client belongs to the caller."""


def certificate_credential(path: Path) -> dict[str, str]:
    """msal's ``client_credential`` for a PEM file holding the private key and certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = path.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise AuthenticationFailed(
            None, None, f"{path}: no PEM certificate found ({exc})", None
        ) from exc
    if b"PRIVATE KEY-----" not in pem:
        raise AuthenticationFailed(None, None, f"{path}: no PEM private key found", None)
    thumbprint = hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest()  # noqa: S324
    return {
        "private_key": pem.decode(),
        "thumbprint": thumbprint,
        "public_certificate": cert.public_bytes(Encoding.PEM).decode(),
    }


class EntraCredential(_CachingCredential):
    """App-only tokens from Entra ID (or any issuer msal accepts) with a secret or certificate."""

    def __init__(
        self,
        tenant: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        certificate: Path | None = None,
        authority: str = MICROSOFT_AUTHORITY,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        import msal

        if (client_secret is None) == (certificate is None):
            raise ValueError("pass exactly one of client_secret and certificate")
        credential: Any = client_secret or certificate_credential(certificate)  # type: ignore[arg-type]
        base = authority.rstrip("/")
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=credential,
            authority=f"{base}/{tenant}",
            http_client=MsalHttpClient(http) if http else None,
            # Instance discovery only knows Microsoft's clouds; skip it for other issuers.
            instance_discovery=base == MICROSOFT_AUTHORITY,
        )

    def _fetch(self, scope: str) -> tuple[str, float]:
        result = self._app.acquire_token_for_client(scopes=[scope])
        if "access_token" not in result:
            code = str(result.get("error") or "authentication failed")
            message = str(result.get("error_description") or "").splitlines()[0:1]
            rid = result.get("correlation_id") or result.get("trace_id")
            raise AuthenticationFailed(400, code, "".join(message), rid)
        return str(result["access_token"]), float(result.get("expires_in", 3600))
