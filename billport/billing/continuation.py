"""Continuation tokens of the v1 line-item seek: opaque, signed, bound to their listing.

A token says "the rows of this listing with ``after < id <= high``": ``high`` is the
largest id when the first page was read, so rows inserted while a client pages (new ids are
always larger) never shift, repeat or join a listing already under way. The payload is
compact JSON, base64url, followed by an HMAC-SHA256 tag under the server's key; a token that
was altered, truncated, minted by another server or for another listing is refused with a
400 (never a 500). Clients must not parse tokens (spec §4.2); billport's own do not either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from billport.errors import InvalidRequest

VERSION = 1
MAX_TOKEN_LENGTH = 1024
_TAG_BYTES = 16  # 128-bit tag: forging one is out of reach, and tokens stay short


class InvalidToken(InvalidRequest):
    """The ``MS-ContinuationToken`` cannot be used for this request."""


@dataclass(frozen=True)
class Cursor:
    """Where a listing continues: its identity (``scope``) and the id window left."""

    scope: str  # tenant, dataset and invoice or month/currency: see usecases.line_items
    after: int  # last id already returned
    high: int  # largest id of the listing when it started


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode(key: bytes, cursor: Cursor) -> str:
    """The opaque token for ``cursor``."""
    payload = json.dumps(
        {"v": VERSION, "s": cursor.scope, "a": cursor.after, "h": cursor.high},
        separators=(",", ":"),
    ).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_tag(key, payload))}"


def decode(key: bytes, token: str, scope: str) -> Cursor:
    """The cursor in ``token``; ``InvalidToken`` unless it is intact, ours and for ``scope``."""
    token = token.strip()
    head, dot, tail = token.partition(".")
    if not dot or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The continuation token is invalid.")
    try:
        payload, tag = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        raise InvalidToken("The continuation token is invalid.") from None
    # Only the one spelling encode() writes: no extra padding, no non-zero spare bits.
    canonical = f"{_b64(payload)}.{_b64(tag)}" == token
    if not canonical or not hmac.compare_digest(tag, _tag(key, payload)):
        raise InvalidToken("The continuation token is invalid.")
    fields = json.loads(payload)  # ours, so well formed: the tag proves it
    cursor = Cursor(str(fields["s"]), int(fields["a"]), int(fields["h"]))
    if fields.get("v") != VERSION or cursor.scope != scope:
        raise InvalidToken(
            "The continuation token belongs to another line-item query: repeat the request "
            "the token came with (same invoice, provider, line-item type, currency and period)."
        )
    return cursor
