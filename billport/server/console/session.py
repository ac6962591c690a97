"""Console sessions: a signed, expiring session id in a cookie; never the admin token.

The cookie holds ``<session id>.<expiry>.<mac>``: a random id, its expiry (Unix seconds)
and an HMAC-SHA256 over both, keyed by a key derived from the admin token. So every replica
that shares the admin token accepts the session without shared state, a cookie cannot be
forged or extended, and changing the admin token signs every session out. The session's
CSRF token is derived from the id with the same key (so it needs no storage either).

Signing out revokes the id in this process (``revoke``) and clears the cookie; another
replica accepts a copied cookie until it expires (``SESSION_SECONDS``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

SESSION_COOKIE = "billport_console"
SESSION_SECONDS = 8 * 3600
MAX_REVOKED = 10_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Session:
    session_id: str
    expires: int  # Unix seconds
    csrf_token: str


class SessionSigner:
    """Issues and checks console sessions for one admin token."""

    def __init__(self, admin_token: str) -> None:
        self._key = hmac.new(
            admin_token.encode(), b"billport console session v1", hashlib.sha256
        ).digest()
        self._revoked: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the key
        return "SessionSigner()"

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def _session(self, session_id: str, expires: int) -> Session:
        return Session(session_id, expires, self._mac(f"csrf:{session_id}"))

    def issue(self, now: float) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session_id = _b64(secrets.token_bytes(18))
        expires = int(now) + SESSION_SECONDS
        body = f"{session_id}.{expires}"
        return self._session(session_id, expires), f"{body}.{self._mac(body)}"

    def verify(self, cookie: str | None, now: float) -> Session | None:
        """The session of a cookie value, or ``None`` (absent, forged, expired, revoked)."""
        if not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        session_id, expires_text, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"{session_id}.{expires_text}")):
            return None
        expires = int(expires_text)
        if expires <= now:
            return None
        with self._lock:
            if session_id in self._revoked:
                return None
        return self._session(session_id, expires)

    def revoke(self, session: Session) -> None:
        """Sign a session out (in this process; the oldest of ``MAX_REVOKED`` are forgotten)."""
        with self._lock:
            self._revoked[session.session_id] = None
            while len(self._revoked) > MAX_REVOKED:
                self._revoked.popitem(last=False)

    def csrf_ok(self, session: Session, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(session.csrf_token, submitted or "")


def token_matches(submitted: str, admin_token: str) -> bool:
    """Whether a signed-in form's token is the admin token (constant time; empty never)."""
    if not submitted or not admin_token:
        return False
    return hmac.compare_digest(submitted.encode(), admin_token.encode())
