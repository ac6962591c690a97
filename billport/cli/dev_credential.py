"""Tokens for a local server's development client, signed with the server's own key.

The store keeps only a hash of each client's secret (docs/security.md), so the client
commands cannot read a secret back to ask the token endpoint. Run by the owner of the
server's data directory, they sign the token themselves with its signing key, exactly as
``billport token`` does; anyone else passes ``--client-id``/``--client-secret`` or ``--token``.
"""

from __future__ import annotations

import threading
import time

from billport.auth.issuer import GRAPH_AUDIENCE, audience_for_scope, issue_token
from billport.auth.keys import KeyRing
from billport.client.errors import AuthenticationFailed
from billport.settings import Settings
from billport.store.clients import Client


class LocalIssuerCredential:
    """``token(scope)`` for ``client``, issued at the settings' clock with the local keys."""

    def __init__(self, settings: Settings, keys: KeyRing, client: Client) -> None:
        self._settings, self._keys, self._client = settings, keys, client
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()  # download threads share one credential

    def token(self, scope: str) -> str:
        with self._lock:
            cached = self._cache.get(scope)
            if cached is not None and time.monotonic() < cached[1]:
                return cached[0]
            issued = self._issue(scope)
            # Renewed at half its life, so a long export never sends an expired token.
            renew_at = time.monotonic() + self._settings.token_lifetime / 2
            self._cache[scope] = (issued, renew_at)
            return issued

    def invalidate(self, scope: str) -> None:
        with self._lock:
            self._cache.pop(scope, None)

    def _issue(self, scope: str) -> str:
        audience = audience_for_scope(scope)
        if audience is None:
            raise AuthenticationFailed(None, "invalid_scope", f"no token for scope {scope}", None)
        return issue_token(
            self._keys,
            self._settings,
            tenant_id=self._client.tenant_id,
            client_id=self._client.client_id,
            audience=audience,
            roles=self._client.roles if audience == GRAPH_AUDIENCE else (),
        )
