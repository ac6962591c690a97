"""List Blobs paging, delimiters and the EnumerationResults XML, without a server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from billport.blobs.base import BlobInfo
from billport.server.blob_listing import ListingQuery, listing_xml, page

WHEN = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NAMES = ["d/a", "d/b/1", "d/b/2", "d/c", "d/e/1"]


def blobs() -> list[BlobInfo]:
    return [BlobInfo(f"box/{n}", len(n), f'"0x{i}"', WHEN) for i, n in enumerate(NAMES)]


def query(**changes: object) -> ListingQuery:
    fields: dict[str, object] = {
        "container": "box",
        "prefix": "d/",
        "delimiter": "",
        "marker": "",
        "max_results": 5000,
    }
    fields.update(changes)
    return ListingQuery(**fields)  # type: ignore[arg-type]


def test_flat_listing_names_blobs_inside_the_container() -> None:
    result = page(query(), blobs())
    assert [name for name, _ in result.entries] == NAMES and result.next_marker == ""


def test_markers_page_through_everything_once() -> None:
    seen: list[str] = []
    marker = ""
    while True:
        result = page(query(max_results=2, marker=marker), blobs())
        seen += [name for name, _ in result.entries]
        if not result.next_marker:
            break
        marker = result.next_marker
    assert seen == NAMES


def test_a_delimiter_folds_subdirectories_into_prefixes() -> None:
    result = page(query(delimiter="/"), blobs())
    assert [(name, info is None) for name, info in result.entries] == [
        ("d/a", False),
        ("d/b/", True),
        ("d/c", False),
        ("d/e/", True),
    ]
    xml = ET.fromstring(listing_xml(query(delimiter="/"), result, service_endpoint="http://h/"))
    assert [p.findtext("Name") for p in xml.findall("./Blobs/BlobPrefix")] == ["d/b/", "d/e/"]
    assert xml.findtext("Delimiter") == "/" and xml.findtext("Prefix") == "d/"


def test_xml_carries_the_properties_the_sdk_reads() -> None:
    result = page(query(max_results=1), blobs())
    xml = ET.fromstring(listing_xml(query(max_results=1), result, service_endpoint="http://h/"))
    assert xml.get("ServiceEndpoint") == "http://h/" and xml.get("ContainerName") == "box"
    blob = xml.find("./Blobs/Blob")
    assert blob is not None and blob.findtext("Name") == "d/a"
    assert blob.findtext("Properties/Content-Length") == "3"
    assert blob.findtext("Properties/Etag") == '"0x0"'
    assert blob.findtext("Properties/Last-Modified") == "Sat, 21 Nov 2026 12:00:00 GMT"
    assert blob.findtext("Properties/BlobType") == "BlockBlob"
    assert xml.findtext("NextMarker") == "d/b/1" and xml.findtext("MaxResults") == "1"
