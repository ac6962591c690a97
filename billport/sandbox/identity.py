"""Who is calling, and for which partner tenant, before any route has authenticated (pure).

The sandbox middleware runs in front of authentication, so it reads the token's claims
*without* verifying them. That is fine for what it is used for — choosing a tenant's
scenario and labelling the request log — and never for deciding access: routes still
validate every token. A forged token only gets itself faults or a misleading log label.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

import orjson

_TENANT_IN_PATH = re.compile(r"PartnerTenantId=([0-9A-Za-z-]{1,36})")
_TOKEN_PATH = re.compile(r"^/([0-9A-Za-z.-]{1,100})/oauth2/")


def unverified_claims(authorization: str | None) -> Mapping[str, Any]:
    """The claims of a ``Bearer`` JWT, or ``{}`` when there is none or it does not parse."""
    if not authorization:
        return {}
    scheme, _, token = authorization.strip().partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def client_label(claims: Mapping[str, Any], remote: str | None) -> str:
    """The client application (``azp``/``appid`` of its token), else its remote address.

    ``client-request-id`` is not used: Graph clients send a new one on every request, so it
    would make each request its own client and hide every early retry.
    """
    app = claims.get("azp") or claims.get("appid")
    if isinstance(app, str) and app:
        return app[:200]
    return f"address:{remote or 'unknown'}"[:200]


def tenant_of(claims: Mapping[str, Any], path: str) -> str | None:
    """The partner tenant a request is about: token ``tid``, else the blob or token path."""
    tid = claims.get("tid")
    if isinstance(tid, str) and tid:
        return tid[:36]
    match = _TENANT_IN_PATH.search(path) or _TOKEN_PATH.match(path)
    return match.group(1) if match else None
