"""The v1 line-item continuation token: opaque, signed, bound to one listing."""

from __future__ import annotations

import base64
import json

import pytest

from billport.billing.continuation import Cursor, InvalidToken, decode, encode
from billport.errors import InvalidRequest

KEY = b"k" * 32
SCOPE = "tenant|1|G016907411|OneTimeInvoiceLineItem"
CURSOR = Cursor(SCOPE, after=4, high=7)


def test_round_trip() -> None:
    token = encode(KEY, CURSOR)
    assert decode(KEY, token, SCOPE) == CURSOR
    assert decode(KEY, f"  {token} ", SCOPE) == CURSOR  # header values may carry spaces
    assert issubclass(InvalidToken, InvalidRequest)  # so every surface answers 400


def test_every_changed_character_is_refused() -> None:
    token = encode(KEY, CURSOR)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for index, char in enumerate(token):
        other = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        with pytest.raises(InvalidToken):
            decode(KEY, token[:index] + other + token[index + 1 :], SCOPE)


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "abc.def", ".", "x" * 5000, "%%%.%%%", "eyJ2IjoxfQ.", "a.b.c"],
)
def test_garbage_is_refused(bad: str) -> None:
    with pytest.raises(InvalidToken, match="invalid"):
        decode(KEY, bad, SCOPE)


def test_padding_and_truncation_are_refused() -> None:
    token = encode(KEY, CURSOR)
    for bad in (token + "==", token[:-1], token[1:], token.replace(".", "..")):
        with pytest.raises(InvalidToken):
            decode(KEY, bad, SCOPE)


def test_another_key_or_listing_is_refused() -> None:
    token = encode(KEY, CURSOR)
    with pytest.raises(InvalidToken, match="invalid"):
        decode(b"o" * 32, token, SCOPE)
    with pytest.raises(InvalidToken, match="another line-item query"):
        decode(KEY, token, SCOPE.replace("G016907411", "G000000001"))


def test_a_forged_payload_without_the_key_is_refused() -> None:
    token = encode(KEY, CURSOR)
    payload = json.dumps({"v": 1, "s": SCOPE, "a": 0, "h": 10**9}).encode()
    head = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        decode(KEY, f"{head}.{token.split('.')[1]}", SCOPE)


def test_tokens_are_opaque_header_safe_text() -> None:
    token = encode(KEY, CURSOR)
    assert token.isascii() and " " not in token and len(token) < 300
