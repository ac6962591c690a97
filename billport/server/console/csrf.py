"""Cross-site request checks of console forms (every POST).

A POST is accepted only when (1) its hidden ``csrf`` field is the session's CSRF token
(the sign-in form: the value of its own pre-session cookie, a double submit), and (2) the
browser does not say it comes from elsewhere: ``Sec-Fetch-Site``, when sent, is
``same-origin`` (or ``none``, typed by the user), and ``Origin``, when sent, is the
console's own. Together with ``SameSite=Strict`` cookies, a page on another site can
neither read a token nor make the browser send the session.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

LOGIN_COOKIE = "billport_console_login"
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower case (default ports dropped)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def cross_site_problem(headers: Mapping[str, str], own_origin: str) -> str | None:
    """Why the browser's headers show a cross-site request, or ``None`` when they do not."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ALLOWED_FETCH_SITES:
        return f"the browser marked the request {fetch_site!r} (Sec-Fetch-Site)"
    origin = headers.get("origin")
    if origin is not None and (origin == "null" or origin_of(origin) != own_origin):
        return f"it comes from another origin ({origin})"
    return None


def double_submit_ok(cookie: str | None, submitted: str | None) -> bool:
    """The sign-in form's token equals its cookie's (both present)."""
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie, submitted)
