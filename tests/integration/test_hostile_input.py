"""Hostile input answers 4xx in its surface's envelope, never a 500 (issue 18 item 1).

Each case below was a 500 with a traceback: a non-ASCII SAS signature, a NUL or an
over-long blob name, an absurd ``Range``, a lone surrogate in a Partner Center filter.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import load_settings
from tests.integration.test_error_shapes import pc_headers
from tests.support import exports as data
from tests.support.factory import app_client, opened

DIRECTORY = "billedreconfastpath/v1/x"
CONTENT = bytes(range(256)) * 4  # 1 KiB


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime]]:
    """One app for the module (the requests only read), on SQLite: nothing here depends on
    the database kind."""
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    settings = load_settings(
        environ={}, data_dir=data_dir, now="2026-11-21T12:00:00Z", worker=False
    )
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        staged = runtime.blobs.stage("test", f"{DIRECTORY}/part.gz")
        staged.stream.write(CONTENT)
        staged.close()
        runtime.blobs.publish(staged)
        with app_client(runtime) as client:
            yield client, runtime


def signed(runtime: Runtime, name: str = "part.gz") -> str:
    """A download URL of ``name`` (already percent-encoded) with the directory's SAS."""
    where = runtime.blobs.download_location(
        DIRECTORY, base_url="http://testserver", now=runtime.clock(), lifetime=60
    )
    return f"{where.root_directory}/{name}?{where.sas_token}"


def azure_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/xml"), response.text
    code = ET.fromstring(response.content).findtext("Code") or ""
    assert code == response.headers["x-ms-error-code"]
    return code


@pytest.mark.parametrize(
    "sig", ["%C3%A9", "%E2%82%AC%E2%82%AC", "%ED%A0%80", "%00", "%FF%FE", "a" * 5000]
)
def test_a_malformed_signature_is_403_authentication_failed(
    app: tuple[TestClient, Runtime], sig: str
) -> None:
    client, runtime = app
    url = signed(runtime)
    forged = url.split("&sig=")[0] + f"&sig={sig}"
    response = client.get(forged)
    assert response.status_code == 403, response.text
    assert azure_code(response) == "AuthenticationFailed"


@pytest.mark.parametrize(
    "field", ["sv", "st", "se", "sr", "sp", "sdd"], ids=lambda f: f"non-ascii-{f}"
)
def test_non_ascii_in_any_signed_field_is_403(app: tuple[TestClient, Runtime], field: str) -> None:
    client, runtime = app
    url = signed(runtime)
    head, _, query = url.partition("?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    fields[field] = "%C3%A9" + ("9" * 5000 if field == "sdd" else "")
    response = client.get(head + "?" + "&".join(f"{k}={v}" for k, v in fields.items()))
    assert response.status_code == 403, response.text
    assert azure_code(response) in {"AuthenticationFailed", "AuthorizationFailure"}


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("a%00b.gz", 400, "InvalidUri"),  # control characters: never a valid name
        ("a%1Fb.gz", 400, "InvalidUri"),
        ("a%C2%81b.gz", 400, "InvalidUri"),  # U+0081, named by Azure's naming rules
        ("x" * 256 + ".gz", 404, "BlobNotFound"),  # a valid Azure name, but no such blob
        ("é" * 200 + ".gz", 404, "BlobNotFound"),  # 400 bytes in UTF-8: over NAME_MAX
        ("x" * 60_000, 400, "OutOfRangeInput"),  # over 1,024 characters
        ("/".join(["d"] * 300), 400, "InvalidUri"),  # over 254 segments
    ],
    ids=["nul", "unit-separator", "c1-control", "256-chars", "400-bytes", "60kb", "300-segments"],
)
def test_a_name_azure_could_not_hold_is_400_or_404(
    app: tuple[TestClient, Runtime], name: str, status: int, code: str
) -> None:
    client, runtime = app
    for method in ("GET", "HEAD"):
        response = client.request(method, signed(runtime, name))
        assert response.status_code == status, response.text
        assert response.headers["x-ms-error-code"] == code
    assert azure_code(client.get(signed(runtime, name))) == code


def test_names_within_azure_limits_still_read(app: tuple[TestClient, Runtime]) -> None:
    client, runtime = app
    assert client.get(signed(runtime)).content == CONTENT
    near_limit = "y" * (1024 - len("v1/x/"))  # exactly 1,024 characters after the container
    assert client.get(signed(runtime, near_limit)).status_code == 404


@pytest.mark.parametrize(
    ("header", "status", "length"),
    [
        ("bytes=0-" + "9" * 5000, 200, len(CONTENT)),  # absurd: ignored, the whole blob
        ("bytes=" + "9" * 5000 + "-", 200, len(CONTENT)),
        ("bytes=-" + "9" * 5000, 200, len(CONTENT)),
        ("bytes=" + "9" * 18 + "-", 416, None),  # an int64 offset past the end
        ("bytes=0-" + "9" * 18, 206, len(CONTENT)),  # clamped to the blob
        ("bytes=-" + "9" * 18, 206, len(CONTENT)),
        ("bytes=\u0661-\u0662", 200, len(CONTENT)),  # Arabic-Indic digits are not digits here
    ],
    ids=[
        "huge-end",
        "huge-start",
        "huge-suffix",
        "int64-start",
        "int64-end",
        "int64-suffix",
        "unicode-digits",
    ],  # fmt: skip
)
def test_an_absurd_range_is_416_or_the_whole_blob(
    app: tuple[TestClient, Runtime], header: str, status: int, length: int | None
) -> None:
    client, runtime = app
    for name in ("range", "x-ms-range"):
        response = client.get(signed(runtime), headers={name: header.encode()})
        assert response.status_code == status, response.text
        if length is not None:
            assert len(response.content) == length
        else:
            assert azure_code(response) == "InvalidRange"


@pytest.mark.parametrize("maxresults", ["\u00b2", "\u0661", "9" * 5000, "99999999999", "-1", "0"])
def test_a_listing_with_absurd_maxresults_is_400(
    app: tuple[TestClient, Runtime], maxresults: str
) -> None:
    client, runtime = app
    where = runtime.blobs.download_location(
        DIRECTORY, base_url="http://testserver", now=runtime.clock(), lifetime=60
    )
    url = f"/blobs/billedreconfastpath?restype=container&comp=list&prefix=v1/x/&{where.sas_token}"
    response = client.get(f"{url}&maxresults={quote(maxresults)}")
    assert response.status_code == 400, response.text
    assert azure_code(response) == "InvalidQueryParameterValue"


def test_a_listing_prefix_with_a_nul_is_400(app: tuple[TestClient, Runtime]) -> None:
    client, runtime = app
    where = runtime.blobs.download_location(
        DIRECTORY, base_url="http://testserver", now=runtime.clock(), lifetime=60
    )
    url = (
        f"/blobs/billedreconfastpath?restype=container&comp=list&prefix=v1/x/%00&{where.sas_token}"
    )
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert azure_code(response) == "InvalidUri"


def _filter(value: str) -> str:
    return json.dumps({"Field": "InvoiceDate", "Value": value, "Operator": "equals"})


@pytest.mark.parametrize(
    "raw",
    [
        quote(_filter("\\ud800"), safe=""),  # a JSON escape of a lone surrogate
        quote(_filter("x\\udfff"), safe=""),
        quote('{"Field\\ud800": 1}', safe=""),  # in a property name, echoed by the error
        quote('{"Field": "\\ud800", "Value": "1/1/2023", "Operator": "equals"}', safe=""),
        quote('{"Field": "InvoiceDate", "Value": "1/1/2023", "Operator": "\\ud800"}', safe=""),
        "%ED%A0%80",  # the surrogate's UTF-8 form: not UTF-8 at all
        "%22%ED%A0%80%22",
        "%FF",
        quote(quote(_filter("\\ud800"), safe=""), safe=""),  # URL-encoded twice
    ],
)
def test_undecodable_filter_text_is_a_partner_center_400(
    app: tuple[TestClient, Runtime], raw: str
) -> None:
    client, runtime = app
    response = client.get(f"/v1/invoices?filter={raw}", headers=pc_headers(runtime))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 800002 and body["source"] == "PartnerFD"
    response.content.decode("utf-8")  # the body itself is valid UTF-8


def test_an_error_echoing_control_characters_is_well_formed_xml(
    app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = app
    # A newline keeps the path off the blob route: starlette's own 404 echoes the path.
    response = client.get(signed(runtime, "a%0A%08b"))
    assert response.status_code in {400, 404}, response.text
    assert azure_code(response)  # parses: \x08 is written as the text \\x08
