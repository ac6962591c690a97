"""Azure-style shared access signatures for directory-scoped blob downloads and listings.

The token is a query string shaped like Azure's (``sv``, ``st``, ``se``, ``sr=d``,
``sp=rl``, ``sdd``, ``sig``). ``sig`` is HMAC-SHA256 over the permissions, start,
expiry, canonical directory, version and resource type, keyed by the server's secret,
and is compared in constant time.

A directory is ``container/dir/...``. ``sdd`` counts its levels *under the container*, as
Azure does ("the number of directories beneath the root folder"; azure-storage-blob computes
it as the segments of the directory's name in the container): the live manifests' 7-level
directories under ``billedusagefastpath``/``unbilledusagefastpath`` carry ``sdd=7``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from billport.errors import PermissionDenied

SAS_VERSION = "2021-08-06"
PERMISSIONS = "rl"


class SasDenied(PermissionDenied):
    """The signature is missing, wrong, expired or for another directory."""

    def __init__(self, message: str, code: str = "AuthenticationFailed") -> None:
        super().__init__(message)
        self.code = code


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signature(key: bytes, fields: list[str]) -> str:
    # surrogatepass: a field that is not text still signs (and mismatches), never raises
    signed = "\n".join(fields).encode("utf-8", "surrogatepass")
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _canonical(directory: str) -> str:
    return "/" + directory.strip("/")


def directory_depth(directory: str) -> int:
    """``sdd`` of ``container/dir/...``: the levels under the container (``c/a/b`` -> 2)."""
    return len([p for p in directory.split("/") if p]) - 1


def mint(
    key: bytes, directory: str, *, now: datetime, lifetime: int, permissions: str = PERMISSIONS
) -> str:
    """A SAS query string (no leading ``?``) granting ``permissions`` on ``directory``."""
    start = _stamp(now - timedelta(minutes=5))  # tolerate clock skew, like Azure samples
    expiry = _stamp(now + timedelta(seconds=lifetime))
    depth = str(directory_depth(directory))
    sig = _signature(
        key, [permissions, start, expiry, _canonical(directory), SAS_VERSION, "d", depth]
    )
    return urlencode(
        {
            "sv": SAS_VERSION,
            "st": start,
            "se": expiry,
            "sr": "d",
            "sp": permissions,
            "sdd": depth,
            "sig": sig,
        }
    )


_NOT_AUTHORIZED = "This request is not authorized to perform this operation."
_WRONG_PERMISSION = (
    "This request is not authorized to perform this operation using this permission."
)


def _depth(query: Mapping[str, str]) -> int:
    """``sdd`` once every field is present; :class:`SasDenied` for a missing or bad field."""
    required = ("sv", "st", "se", "sr", "sp", "sdd", "sig")
    if any(name not in query for name in required):
        raise SasDenied(
            "Server failed to authenticate the request. Make sure the value of Authorization "
            "header is formed correctly including the signature.",
            code="NoAuthenticationInformation" if "sig" not in query else "AuthenticationFailed",
        )
    try:
        return int(query["sdd"])
    except ValueError:
        raise SasDenied("Signature fields not well formed.") from None


def _check(
    key: bytes, directory: str, query: Mapping[str, str], permission: str, now: datetime
) -> None:
    """The signature over ``directory``, then the claims: directory scope, ``permission``
    granted, and ``now`` (the injected clock) between start and expiry."""
    fields = [
        query["sp"],
        query["st"],
        query["se"],
        _canonical(directory),
        query["sv"],
        query["sr"],
        query["sdd"],
    ]
    # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError).
    given = query["sig"].encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(_signature(key, fields).encode("ascii"), given):
        raise SasDenied("Signature did not match.")
    # Signed and untampered; now the claims it carries.
    if query["sr"] != "d" or permission not in query["sp"]:
        raise SasDenied(_WRONG_PERMISSION, code="AuthorizationPermissionMismatch")
    try:
        start = datetime.strptime(query["st"], "%Y-%m-%dT%H:%M:%SZ")
        expiry = datetime.strptime(query["se"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise SasDenied("Signature fields not well formed.") from None
    naive_now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    if naive_now >= expiry:
        raise SasDenied(
            "Signed expiry time has to be after signed start time and the current "
            "time; this token expired at " + query["se"] + "."
        )
    if naive_now < start:
        raise SasDenied("Signed start time is in the future.")


def verify(key: bytes, blob_path: str, query: Mapping[str, str], *, now: datetime) -> None:
    """Raise :class:`SasDenied` unless ``query`` authorises reading ``blob_path`` at ``now``."""
    depth = _depth(query)
    parts = [p for p in blob_path.split("/") if p]  # container, ``depth`` levels, name
    if depth < 1 or depth + 1 >= len(parts):
        raise SasDenied(_NOT_AUTHORIZED, code="AuthorizationFailure")
    _check(key, "/".join(parts[: depth + 1]), query, "r", now)
    if len(parts) != depth + 2:
        raise SasDenied(_NOT_AUTHORIZED, code="AuthorizationFailure")


def verify_listing(
    key: bytes, container: str, prefix: str, query: Mapping[str, str], *, now: datetime
) -> str:
    """The signed directory (``container/…``, no slashes around it) if ``query`` authorises
    listing ``prefix`` in ``container`` at ``now``; else :class:`SasDenied`.

    As Azure does, the directory is taken from the request (the container and the first
    ``sdd`` segments of ``prefix``), so a prefix outside the signed directory fails the
    signature.
    Names the caller lists must still be kept under ``directory + "/"``: a prefix equal to
    the directory would also match a sibling that extends its last segment.
    """
    depth = _depth(query)
    parts = [p for p in f"{container}/{prefix}".split("/") if p]
    if depth < 1 or depth + 1 > len(parts):
        raise SasDenied("Signature did not match.")
    directory = "/".join(parts[: depth + 1])
    _check(key, directory, query, "l", now)
    return directory
