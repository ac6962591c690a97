"""Bearer-token validation, free of HTTP and database: token in, Principal or domain error out.

Rules, in order (the first failure wins):

1. well-formed JWT whose header says ``alg: RS256`` (``none``, ``HS256``... are refused)  401
2. ``tid`` present; ``iss`` is the dev issuer for that tid, or, when an external issuer is
   configured, ``settings.trusted_issuer`` with ``{tenantid}`` replaced by the tid      401
3. signature verifies with the issuer's key named by ``kid``                              401
4. ``exp`` present and not past, ``nbf`` (if present) reached, ``iat`` (if present) not
   in the future, all with LEEWAY; lifetime (``exp`` minus ``iat``, else ``nbf``, else
   now) at most ``settings.max_token_lifetime``                                          401
5. ``aud`` is the expected audience (or its app-id alias)                                 401
6. tid is not the personal Microsoft account tenant                                       403
7. Graph audience: ``PartnerBilling.Read.All`` in ``roles`` or ``scp``                    403
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from billport.auth.issuer import AUDIENCE_ALIASES, GRAPH_AUDIENCE, dev_issuer
from billport.auth.keys import KeyRing
from billport.errors import AuthenticationError, PermissionDenied
from billport.settings import Settings
from billport.store.clients import GRAPH_ROLE

# Clock skew tolerated on exp/nbf. Microsoft's own libraries allow 5 minutes; a minute
# covers honest NTP drift while keeping an expired token expired.
LEEWAY = timedelta(seconds=60)
ALGORITHM = "RS256"
PERSONAL_ACCOUNT_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass(frozen=True)
class Principal:
    """Who called: the partner tenant, the client application, and the verified claims."""

    tenant_id: str
    client_id: str
    audience: str
    claims: Mapping[str, Any] = field(repr=False)


def _invalid(reason: str) -> AuthenticationError:
    return AuthenticationError(f"Access token validation failure. {reason}")


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before any verification (only to pick the key)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise _invalid("The token is not a well-formed JWT.") from exc
    if header.get("alg") != ALGORITHM:
        raise _invalid(f"Signing algorithm {header.get('alg')!r} is not accepted; use RS256.")
    return header, claims


def _tenant(claims: Mapping[str, Any]) -> str:
    tid = claims.get("tid")
    if not isinstance(tid, str) or not tid:
        raise _invalid("The token has no tenant (tid) claim.")
    return tid


def _signing_key(
    header: Mapping[str, Any], claims: Mapping[str, Any], keys: KeyRing, settings: Settings
) -> rsa.RSAPublicKey:
    tid = _tenant(claims)
    issuer = claims.get("iss")
    kid = header.get("kid")
    if keys.trusted is not None:
        # An external issuer replaces the dev one: its tokens are the only ones accepted.
        expected = settings.trusted_issuer.replace("{tenantid}", tid)
        key = keys.trusted.key(kid) if issuer == expected else None
    else:
        key = keys.public_key_for(kid) if issuer == dev_issuer(settings, tid) else None
        expected = dev_issuer(settings, tid)
    if issuer != expected:
        raise _invalid("Invalid issuer.")
    if key is None:
        raise _invalid(f"Signing key {kid!r} is unknown to the issuer.")
    return key


def _verify_signature(token: str, key: rsa.RSAPublicKey) -> dict[str, Any]:
    # PyJWT checks only the signature here; time and audience use the injected clock below.
    options: Any = {
        "verify_signature": True,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM], options=options)
    except jwt.InvalidSignatureError as exc:
        raise _invalid("Signature validation failed.") from exc
    except jwt.InvalidTokenError as exc:
        raise _invalid(str(exc)) from exc


class _VerifiedTokens:
    """Claims of tokens whose issuer and signature were verified (steps 1-3), by token text.

    A client sends the same token on every call for its lifetime; verifying it once spares
    two decodes and an RSA verification per request. Bounded (least recently used out);
    lifetime, audience and permissions are still checked on every call, at that call's
    instant. Refused tokens are never kept.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        with self._lock:
            claims = self._claims.get(key)
            if claims is not None:
                self._claims.move_to_end(key)
            return claims

    def put(self, key: tuple[str, str, str], claims: dict[str, Any]) -> None:
        with self._lock:
            self._claims[key] = claims
            while len(self._claims) > self.SIZE:
                self._claims.popitem(last=False)

    def __len__(self) -> int:
        return len(self._claims)


# One cache per key ring: a token verified with one ring's keys says nothing about another's.
_VERIFIED: weakref.WeakKeyDictionary[KeyRing, _VerifiedTokens] = weakref.WeakKeyDictionary()
_VERIFIED_LOCK = threading.Lock()


def verified_tokens(keys: KeyRing) -> _VerifiedTokens:
    with _VERIFIED_LOCK:
        cache = _VERIFIED.get(keys)
        if cache is None:
            cache = _VERIFIED[keys] = _VerifiedTokens()
        return cache


def is_verified(token: str, keys: KeyRing, settings: Settings) -> bool:
    """Whether ``token``'s issuer and signature were verified already (validating it again
    then does no I/O: an external issuer's keys are not fetched)."""
    return verified_tokens(keys).get(_cache_key(token, settings)) is not None


def _cache_key(token: str, settings: Settings) -> tuple[str, str, str]:
    """What a verification depended on besides the key ring: the issuers and the token."""
    return (settings.dev_issuer, settings.trusted_issuer, token)


def _verified_claims(token: str, keys: KeyRing, settings: Settings) -> dict[str, Any]:
    """Steps 1-3 of the module docstring, once per token text and key ring."""
    cache = verified_tokens(keys)
    key = _cache_key(token, settings)
    claims = cache.get(key)
    if claims is None:
        header, unverified = _peek(token)
        claims = _verify_signature(token, _signing_key(header, unverified, keys, settings))
        cache.put(key, claims)
    return claims


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"The {name} claim must be a number.")
    return float(value)


def _check_lifetime(claims: Mapping[str, Any], now: datetime, max_lifetime: int) -> None:
    instant = now.timestamp()
    leeway = LEEWAY.total_seconds()
    expires = _number(claims, "exp")
    if expires is None:
        raise _invalid("The token has no expiry (exp) claim.")
    if instant >= expires + leeway:
        raise AuthenticationError("Lifetime validation failed, the token is expired.")
    not_before = _number(claims, "nbf")
    if not_before is not None and instant < not_before - leeway:
        raise AuthenticationError("Lifetime validation failed, the token is not yet valid.")
    issued = _number(claims, "iat")
    if issued is not None and instant < issued - leeway:
        raise AuthenticationError("Lifetime validation failed, the token is issued in the future.")
    _check_duration(expires, issued, not_before, instant, max_lifetime)


def _check_duration(
    expires: float, issued: float | None, not_before: float | None, instant: float, limit: int
) -> None:
    """A stolen token must not stay good for years: cap how long it was minted to live."""
    start = issued if issued is not None else not_before if not_before is not None else instant
    if expires - start > limit:
        raise AuthenticationError(
            f"Lifetime validation failed, the token lives longer than {limit} seconds."
        )


def _check_audience(claims: Mapping[str, Any], expected: str) -> None:
    audience = claims.get("aud")
    given = [audience] if isinstance(audience, str) else audience
    accepted = AUDIENCE_ALIASES.get(expected, frozenset({expected}))
    if not isinstance(given, list) or accepted.isdisjoint(a for a in given if isinstance(a, str)):
        raise _invalid("Invalid audience.")


def has_permission(claims: Mapping[str, Any], permission: str) -> bool:
    """True if ``permission`` is an app role (``roles``) or delegated scope (``scp``)."""
    roles = claims.get("roles")
    scopes = claims.get("scp")
    in_roles = isinstance(roles, list) and permission in roles
    in_scopes = isinstance(scopes, str) and permission in scopes.split()
    return in_roles or in_scopes


def validate_token(
    token: str,
    *,
    expected_audience: str,
    keys: KeyRing,
    settings: Settings,
    now: datetime,
) -> Principal:
    """Verify ``token`` for ``expected_audience`` at instant ``now``; see the module docstring.

    Raises AuthenticationError (401) or PermissionDenied (403). Whether the tenant is a known
    partner is the caller's business (it needs the store).
    """
    claims = _verified_claims(token, keys, settings)
    tenant_id = _tenant(claims)
    _check_lifetime(claims, now, settings.max_token_lifetime)
    _check_audience(claims, expected_audience)
    if tenant_id == PERSONAL_ACCOUNT_TENANT:
        raise PermissionDenied("Personal Microsoft accounts are not supported by this API.")
    if expected_audience == GRAPH_AUDIENCE and not has_permission(claims, GRAPH_ROLE):
        raise PermissionDenied(
            f"Missing permission: the token needs {GRAPH_ROLE} in its roles or scp claim."
        )
    client_id = claims.get("azp") or claims.get("appid") or ""
    return Principal(tenant_id, str(client_id), expected_audience, claims)


def signed_claims(token: str, keys: KeyRing, settings: Settings) -> dict[str, Any] | None:
    """The claims of ``token`` if its issuer and signature verify, else None.

    Only who signed it is checked (not lifetime, audience or permissions): enough to know
    the caller is the tenant and client it names. Cached like validate_token's first steps;
    a token not seen before may fetch an external issuer's keys, so call it off the loop
    unless :func:`is_verified` says it is cached.
    """
    try:
        return _verified_claims(token, keys, settings)
    except AuthenticationError:
        return None
