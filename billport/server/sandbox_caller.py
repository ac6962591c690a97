"""Who a request proves it comes from, for the sandbox's scenarios and its request log.

The sandbox middleware runs before the routes authenticate. Reading a token's claims
without checking them (as it once did) let anyone name a victim's tenant and client: an
unsigned token answered 401 counted as the victim's early retry, and took the victim
tenant's fault draws. Only what the request proves counts now: a bearer token whose issuer
and signature verify (its ``tid`` and ``azp``), or a blob request whose SAS verifies (the
tenant of the signed directory). Anything else is *unverified*: labelled by its address,
never a tenant's, logged in a bucket of its own and left out of the compliance report.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import Scope

from billport.auth.validation import is_verified, signed_claims
from billport.blobs import sas
from billport.runtime import Runtime
from billport.sandbox.identity import tenant_in_path

BLOB_PREFIX = "/blobs/"


@dataclass(frozen=True)
class Caller:
    """The verified tenant and client (``azp``) of a request; ``verified`` False: neither."""

    tenant: str | None = None
    client: str | None = None
    verified: bool = False


UNVERIFIED = Caller()


def bearer_token(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def quick_caller(runtime: Runtime, scope: Scope) -> Caller | None:
    """The caller when that needs no work off the event loop (no token, a cached one, a
    blob SAS: an HMAC); None when a token must be verified in a thread."""
    token = bearer_token(scope)
    if token is None:
        return _blob_caller(runtime, scope)
    if not is_verified(token, runtime.keys, runtime.settings):
        return None
    return token_caller(runtime, token)


def token_caller(runtime: Runtime, token: str) -> Caller:
    """The tenant and client of ``token`` if it is signed by the trusted issuer (may fetch
    an external issuer's keys: off the event loop unless cached)."""
    try:
        claims = signed_claims(token, runtime.keys, runtime.settings)
    except Exception:  # an issuer that cannot be reached proves nothing
        return UNVERIFIED
    if claims is None:
        return UNVERIFIED
    tid, app = claims.get("tid"), claims.get("azp") or claims.get("appid")
    tenant = tid[:36] if isinstance(tid, str) and tid else None
    client = app[:200] if isinstance(app, str) and app else None
    return Caller(tenant, client, True)


def _blob_caller(runtime: Runtime, scope: Scope) -> Caller:
    path: str = scope["path"]
    if not path.startswith(BLOB_PREFIX):
        return UNVERIFIED  # the token endpoint, or a call without credentials
    query = dict(
        parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    )
    blob = path[len(BLOB_PREFIX) :]
    try:
        if query.get("comp") == "list":
            signed = sas.verify_listing(
                runtime.keys.sas_key, blob.strip("/"), query.get("prefix", ""), query,
                now=runtime.clock(),
            )  # fmt: skip
        else:
            sas.verify(runtime.keys.sas_key, blob, query, now=runtime.clock())
            signed = blob
    except Exception:  # SasDenied, or input the route refuses on its own
        return UNVERIFIED
    return Caller(tenant_in_path(signed), None, True)
