"""Absolute URLs the server hands out (Location, navigation links, discovery, downloads).

Blob download URLs come from the blob store (``BlobStore.download_location``) at the base
given here. Without ``BILLPORT_PUBLIC_URL`` the base is the request's own, but only for a
``Host`` in ``BILLPORT_ALLOWED_HOSTS`` (loopback names by default): reflecting any ``Host``
would let whoever can set it point a client's next call (and its bearer token) elsewhere.
"""

from __future__ import annotations

from fastapi import Request

from billport.errors import InvalidRequest
from billport.settings import Settings


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The allow-list, lower-cased, IPv6 addresses without brackets."""
    names = (n.strip().lower().strip("[]") for n in settings.allowed_hosts.split(","))
    return frozenset(n for n in names if n)


def host_allowed(host: str | None, settings: Settings) -> bool:
    allowed = allowed_hosts(settings)
    return "*" in allowed or (host or "").lower().strip("[]").rstrip(".") in allowed


def base_url(request: Request, settings: Settings) -> str:
    """``settings.public_url`` when set, else the request's own base if its ``Host`` is
    allowed; otherwise InvalidRequest (400 in the surface's envelope)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if not host_allowed(request.url.hostname, settings):
        raise InvalidRequest(
            f"The Host {request.url.hostname!r} is not one this server builds URLs for: set "
            "BILLPORT_PUBLIC_URL to the server's public URL, or add the name to "
            "BILLPORT_ALLOWED_HOSTS."
        )
    return str(request.base_url).rstrip("/")
