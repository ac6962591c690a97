"""Azure's List Blobs (``?restype=container&comp=list``): paging and the EnumerationResults XML.

The *container* is the first segment after ``/blobs/`` and a blob's name is the rest of its
path, so the manifest's ``rootDirectory`` is the container URL plus the directory and the
SDKs (``ContainerClient.list_blobs``, ``listBlobsFlat``) list it unchanged. Markers are the
name of the next entry: opaque to clients, and stable while the listing does not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from xml.sax.saxutils import escape

from billport.blobs.base import BlobInfo

MAX_RESULTS = 5000  # Azure's default and ceiling


@dataclass(frozen=True)
class ListingQuery:
    """What one List Blobs request asks for; ``prefix`` and ``marker`` are blob names."""

    container: str
    prefix: str
    delimiter: str
    marker: str
    max_results: int


@dataclass(frozen=True)
class Page:
    entries: list[tuple[str, BlobInfo | None]]  # (name, the blob) or (BlobPrefix name, None)
    next_marker: str  # "" on the last page


def entries(
    query: ListingQuery, blobs: Iterable[BlobInfo]
) -> Iterator[tuple[str, BlobInfo | None]]:
    """``(name, blob)`` in name order, each run of names sharing a ``delimiter``-ended
    segment after the prefix folded into one ``(prefix, None)``."""
    head = f"{query.container}/"
    last_prefix = ""
    for info in blobs:
        name = info.path.removeprefix(head)
        rest = name[len(query.prefix) :]
        cut = rest.find(query.delimiter) if query.delimiter else -1
        if cut < 0:
            yield name, info
            continue
        folded = name[: len(query.prefix) + cut + len(query.delimiter)]
        if folded != last_prefix:
            last_prefix = folded
            yield folded, None


def page(query: ListingQuery, blobs: Iterable[BlobInfo]) -> Page:
    """The entries from ``marker`` on, at most ``max_results``, and where the next page starts."""
    taken: list[tuple[str, BlobInfo | None]] = []
    for name, info in entries(query, blobs):
        if name < query.marker:
            continue
        if len(taken) == query.max_results:
            return Page(taken, name)
        taken.append((name, info))
    return Page(taken, "")


def _blob_xml(name: str, info: BlobInfo) -> str:
    stamp = format_datetime(info.last_modified, usegmt=True)
    return (
        f"<Blob><Name>{escape(name)}</Name><Properties>"
        f"<Creation-Time>{stamp}</Creation-Time><Last-Modified>{stamp}</Last-Modified>"
        f"<Etag>{escape(info.etag)}</Etag><Content-Length>{info.size}</Content-Length>"
        "<Content-Type>application/octet-stream</Content-Type><Content-Encoding />"
        "<Content-Language /><Content-CRC64 /><Content-MD5 /><Cache-Control />"
        "<Content-Disposition /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>"
        "<AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus>"
        "<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
        "</Properties><OrMetadata /></Blob>"
    )


def _attribute(value: str) -> str:
    """``value`` escaped for a double-quoted XML attribute."""
    return escape(value, {'"': "&quot;"})


def _optional(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else ""


def listing_xml(query: ListingQuery, result: Page, *, service_endpoint: str) -> str:
    """The ``EnumerationResults`` document of one page, as the 2021-08-06 service writes it."""
    items = [
        f"<BlobPrefix><Name>{escape(name)}</Name></BlobPrefix>"
        if info is None
        else _blob_xml(name, info)
        for name, info in result.entries
    ]
    next_marker = (
        f"<NextMarker>{escape(result.next_marker)}</NextMarker>"
        if result.next_marker
        else "<NextMarker />"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<EnumerationResults ServiceEndpoint="{_attribute(service_endpoint)}" '
        f'ContainerName="{_attribute(query.container)}">'
        f"{_optional('Prefix', query.prefix)}{_optional('Marker', query.marker)}"
        f"<MaxResults>{query.max_results}</MaxResults>{_optional('Delimiter', query.delimiter)}"
        f"<Blobs>{''.join(items)}</Blobs>{next_marker}</EnumerationResults>"
    )
