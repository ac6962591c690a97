"""``billport import --anonymise``: consistent pseudonyms for who a row is about, so a real
invoice can be shared as a sandbox fixture.

A pseudonym is a keyed HMAC-SHA-256 of the value (GUIDs lower-cased first), so the same
input always gives the same pseudonym under one key, in every dataset and file: a
customer's ``CustomerId`` is the same GUID in its reconciliation and usage rows, and the
subscription GUID inside ``ResourceURI`` is the row's pseudonymised ``EntitlementId``. The
default key is public (``DEFAULT_KEY``): with it, anyone who guesses an input can confirm
it; pass ``--anonymise-key`` for pseudonyms nobody else can recompute. Amounts, dates,
products, meters, invoice and order ids are not touched, so totals are unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable

import orjson

DEFAULT_KEY = "billport-anonymise-v1"  # documented, public: not a secret
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_GROUP = re.compile(r"(/resourceGroups/)([^/]+)", re.IGNORECASE)
# Free text that may hold the ids (and names) of the same row: GUIDs in it are replaced by
# their pseudonyms, as are the row's customer name and domain and its resource group.
TEXT_FIELDS = ("ResourceURI", "AdditionalInfo", "Tags", "ServiceInfo1", "ServiceInfo2")


class Anonymiser:
    """Pseudonyms under one key; ``pairs`` rewrites a row's raw JSON values."""

    def __init__(self, key: str = DEFAULT_KEY) -> None:
        self._key = key.encode()
        self._cache: dict[tuple[str, str], str] = {}
        self.kinds: dict[str, Callable[[str], str]] = {
            "PartnerId": self.guid,
            "CustomerId": self.guid,
            "SubscriptionId": self.guid,
            "EntitlementId": self.guid,
            "CustomerName": lambda v: self.name("Customer", v),
            "PartnerName": lambda v: self.name("Partner", v),
            "SubscriptionDescription": lambda v: self.name("Subscription", v),
            "EntitlementDescription": lambda v: self.name("Subscription", v),
            "CustomerDomainName": self.domain,
            "MpnId": self.mpn,
            "Tier2MpnId": self.mpn,
            "ResourceGroup": self.group,
        }

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()

    def _cached(self, kind: str, value: str, make: Callable[[bytes], str]) -> str:
        key = (kind, value)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 100_000:  # bounded: memory flat however many customers
                self._cache.clear()
            found = self._cache[key] = make(self._digest(kind, value))
        return found

    def guid(self, value: str) -> str:
        """A GUID's pseudonym: a version-4 GUID; other text: 32 hex digits."""
        folded = value.strip().lower()
        if _GUID.fullmatch(folded):
            return self._cached("guid", folded, lambda d: str(uuid.UUID(bytes=d[:16], version=4)))
        return self._cached("id", value, lambda d: d[:16].hex())

    def name(self, label: str, value: str) -> str:
        return self._cached("name", value, lambda d: f"{label} {d[:4].hex()}")

    def domain(self, value: str) -> str:
        folded = value.strip().lower()
        tail = ".onmicrosoft.com" if folded.endswith(".onmicrosoft.com") else ".example.com"
        return self._cached("domain", folded, lambda d: f"d{d[:5].hex()}{tail}")

    def mpn(self, value: str) -> str:
        seven = lambda d: str(1_000_000 + int.from_bytes(d[:4]) % 9_000_000)  # noqa: E731
        return self._cached("mpn", value.strip(), seven)

    def group(self, value: str) -> str:
        # Azure resource group names are case-insensitive.
        return self._cached("group", value.strip().lower(), lambda d: f"rg-{d[:4].hex()}")

    def text(self, value: str, names: dict[str, str]) -> str:
        """Free text with its GUIDs, resource groups and the row's ``names`` replaced."""
        value = _GUID.sub(lambda m: self.guid(m.group(0)), value)
        value = _GROUP.sub(lambda m: m.group(1) + self.group(m.group(2)), value)
        for original, pseudonym in names.items():
            value = value.replace(original, pseudonym)
        return value

    def pairs(self, pairs: dict[str, str]) -> dict[str, str]:
        """A row's raw JSON value texts with every identifying field replaced."""
        out = dict(pairs)
        names: dict[str, str] = {}
        for name, make in self.kinds.items():
            value = _string(pairs.get(name))
            if value:
                out[name] = _json(made := make(value))
                if name in ("CustomerName", "CustomerDomainName") and len(value) > 3:
                    names[value] = made
        for name in TEXT_FIELDS:
            value = _string(pairs.get(name))
            if value:
                out[name] = _json(self.text(value, names))
        return out


def _string(raw: str | None) -> str:
    """A JSON string value's text ('' for null, absent or a non-string)."""
    if raw is None or not raw.startswith('"'):
        return ""
    return raw[1:-1] if "\\" not in raw else str(json.loads(raw))


def _json(text: str) -> str:
    return orjson.dumps(text).decode()
