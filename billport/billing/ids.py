"""Ids that become paths: invoice ids, tenant ids and blob names, validated where they enter.

An invoice id and a tenant id end up as directory names of an export
(``PartnerTenantId={tenant}/…/InvoiceId={invoice}``), so every entry (the admin API, the
CLI, the Graph export body, the seed) checks them here, once, before anything is stored or
written. A blob name arrives in a download URL; it is held to Azure's documented limits
(at most 1,024 characters and 254 path segments, no control characters) before any
backend sees it.
"""

from __future__ import annotations

import re

from billport.errors import InvalidRequest

MAX_INVOICE_ID_LENGTH = 20
MAX_TENANT_ID_LENGTH = 36  # a GUID
MAX_BLOB_NAME_LENGTH = 1024  # Azure: "cannot be more than 1,024 characters long"
MAX_BLOB_SEGMENTS = 254  # Azure: "cannot exceed 254" path segments

# Letters, digits, '_', '.', '-', starting with a letter or digit: never '.', '..', a
# separator or a drive letter, so such an id is always one harmless path segment.
SAFE_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # also in the OpenAPI schemas
_SAFE_ID = re.compile(SAFE_ID_PATTERN, re.ASCII)
# Azure refuses control characters (0x00-0x1F, 0x7F-0x9F) in names, even percent-encoded;
# a lone surrogate is not text at all.
_FORBIDDEN_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InvalidBlobName(InvalidRequest):
    """A blob name Azure would refuse; ``code`` is the Azure error code it answers."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def is_safe_id(text: str, max_length: int) -> bool:
    """Whether ``text`` is 1..``max_length`` safe characters (see ``_SAFE_ID``)."""
    return 0 < len(text) <= max_length and _SAFE_ID.fullmatch(text) is not None


def _shown(text: str) -> str:
    """``text`` cut short and with anything unprintable escaped, for an error message."""
    short = text[:40] + "..." if len(text) > 40 else text
    return short.encode("unicode_escape").decode("ascii")


def check_invoice_id(raw: object, name: str = "invoiceId") -> str:
    """The invoice id (surrounding spaces dropped); :class:`InvalidRequest` unless safe."""
    text = raw.strip() if isinstance(raw, str) else raw
    if not isinstance(text, str) or not is_safe_id(text, MAX_INVOICE_ID_LENGTH):
        shown = _shown(raw) if isinstance(raw, str) else type(raw).__name__
        raise InvalidRequest(
            f"Invalid value '{shown}' for '{name}': an invoice id is 1 to "
            f"{MAX_INVOICE_ID_LENGTH} letters, digits, '_', '.' or '-', starting with a "
            "letter or digit."
        )
    return text


def check_tenant_id(raw: object, name: str = "tenantId") -> str:
    """The tenant id (surrounding spaces dropped); :class:`InvalidRequest` unless safe."""
    text = raw.strip() if isinstance(raw, str) else raw
    if not isinstance(text, str) or not is_safe_id(text, MAX_TENANT_ID_LENGTH):
        shown = _shown(raw) if isinstance(raw, str) else type(raw).__name__
        raise InvalidRequest(
            f"Invalid value '{shown}' for '{name}': a tenant id is 1 to "
            f"{MAX_TENANT_ID_LENGTH} letters, digits, '_', '.' or '-' (a GUID), starting "
            "with a letter or digit."
        )
    return text


def check_blob_name(name: str) -> None:
    """:class:`InvalidBlobName` for a blob name (``container/…`` after ``/blobs/``) Azure
    would refuse: ``InvalidUri`` for control characters or too many segments,
    ``OutOfRangeInput`` for a name longer than 1,024 characters (as the service answers)."""
    if _FORBIDDEN_IN_NAMES.search(name):
        raise InvalidBlobName(
            "The requested URI does not represent any resource on the server.", "InvalidUri"
        )
    container, _, blob = name.strip("/").partition("/")
    if len(blob) > MAX_BLOB_NAME_LENGTH or len(container) > MAX_BLOB_NAME_LENGTH:
        raise InvalidBlobName(
            "The specified resource name length is not within the permissible limits.",
            "OutOfRangeInput",
        )
    if blob.count("/") + 1 > MAX_BLOB_SEGMENTS:
        raise InvalidBlobName(
            "The requested URI does not represent any resource on the server.", "InvalidUri"
        )
