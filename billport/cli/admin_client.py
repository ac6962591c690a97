"""A small httpx client of the sandbox admin API, for ``billport scenario`` and ``requests``.

Imports nothing from the server: it speaks HTTP to a running ``billport serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from billport.cli.unreachable import cannot_reach
from billport.client.errors import ConnectionFailed
from billport.client.http import is_refused
from billport.errors import (
    AuthenticationError,
    BillportError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from billport.settings import Settings

ADMIN_TOKEN_FILE = "admin-token"  # same name as billport.auth.keys.ADMIN_TOKEN_FILE
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
ERRORS: dict[int, type[BillportError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
}


def server_url(settings: Settings, server: str | None) -> str:
    """``--server``, else the server these settings describe (public URL or host:port)."""
    return (server or settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def admin_token(
    settings: Settings, given: str | None, others: str = "--admin-token or set BILLPORT_ADMIN_TOKEN"
) -> str:
    """``--admin-token``, else ``BILLPORT_ADMIN_TOKEN``, else the data dir's key ring file."""
    if given:
        return given
    if settings.admin_token:
        return settings.admin_token
    path = Path(settings.keys_dir) / ADMIN_TOKEN_FILE
    try:
        token = path.read_text(encoding="ascii").strip()
    except OSError:
        token = ""
    if not token:
        raise ConfigurationError(
            f"no admin token at {path.absolute()}: pass --data-dir of the server, {others}"
        )
    return token


class AdminClient:
    """Calls ``/_billport/...`` with the admin token; HTTP errors become BillportErrors."""

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        origin = str(self.http.base_url).rstrip("/")
        try:
            response = self.http.request(method, f"/_billport{path}", **kwargs)
        except httpx.TransportError as exc:  # one try: an admin call is never retried
            if is_refused(exc):
                raise ConnectionFailed(cannot_reach(origin), url=origin, refused=True) from None
            reason = str(exc) or type(exc).__name__
            raise ConnectionFailed(
                f"{method} {origin}/_billport{path}: no answer: {reason}", url=origin
            ) from None
        if response.is_success:
            return response.json()
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:500] or response.reason_phrase
        kind = ERRORS.get(response.status_code, BillportError)
        raise kind(f"{method} {path}: HTTP {response.status_code}: {message}")
