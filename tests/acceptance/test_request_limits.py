"""Over-long request heads get 414/431 in the surface's envelope from a real ``billport
serve``, read whole over a raw socket: no reset, no uvicorn plain-text 400 (issue 18 item 1).
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from billport.server.protocol import MAX_REQUEST_HEAD, head_status, request_target
from billport.settings import load_settings
from tests.support.factory import live_server, opened
from tests.support.processes import process_env, processes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("limits")
    env = process_env(f"sqlite:///{tmp / 'billport.db'}", tmp / "data")
    with processes(tmp, env) as started:
        url = started.serve("serve")
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def exchange(server: tuple[str, int], head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (all of it, however the server answers), then read the whole answer."""
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(head)  # a reset would raise here or in recv below
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    top, _, body = raw.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    fields = (line.split(": ", 1) for line in lines[1:])
    headers = {name.lower(): value for name, value in fields}
    assert int(headers["content-length"]) == len(body)
    return status, headers, body


def get(target: str, *extra: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", *extra, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_query_string_over_64_kb_is_414_in_the_partner_center_envelope(
    server: tuple[str, int],
) -> None:
    status, headers, body = exchange(server, get("/v1/invoices?filter=" + "x" * 100_000))
    assert status == 414
    error = json.loads(body)
    assert set(error) == {"code", "description", "data", "source"}
    assert headers["connection"] == "close" and len(body) < 500


def test_a_1_mb_bearer_token_is_431_in_the_graph_envelope(server: tuple[str, int]) -> None:
    token = "Authorization: Bearer " + "a" * 1_000_000
    status, _, body = exchange(server, get("/v1.0/reports/partners/billing/operations/x", token))
    assert status == 431
    assert set(json.loads(body)["error"]) == {"code", "message", "innerError"}


def test_an_over_long_blob_url_is_414_in_azure_xml(server: tuple[str, int]) -> None:
    status, headers, body = exchange(server, get("/blobs/c/" + "n" * 70_000 + "?sig=x"))
    assert status == 414
    assert ET.fromstring(body).tag == "Error" and headers["x-ms-error-code"]


def test_a_60_kb_blob_path_under_the_cap_reaches_the_app(server: tuple[str, int]) -> None:
    status, headers, body = exchange(server, get("/blobs/c/" + "n" * 60_000))
    assert status == 400  # Azure's answer to a name over 1,024 characters
    assert headers["x-ms-error-code"] == "OutOfRangeInput"


def test_an_unknown_surface_gets_a_short_json_body(server: tuple[str, int]) -> None:
    status, _, body = exchange(server, b"GET /" + b"z" * 70_000)  # the line never ends
    assert status == 414 and len(body) < 500
    json.loads(body)


def test_the_server_keeps_serving(server: tuple[str, int]) -> None:
    status, _, body = exchange(server, get("/healthz"))
    assert status == 200, body


def test_head_status_and_target_from_a_cut_head() -> None:
    assert head_status(b"GET /" + b"a" * MAX_REQUEST_HEAD) == 414
    assert head_status(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_REQUEST_HEAD) == 431
    assert request_target(b"GET /v1/invoices?filter=" + b"x" * 10) == ("GET", "/v1/invoices")
    assert request_target(b"HEAD /blobs/a%20b HTTP/1.1\r\n") == ("HEAD", "/blobs/a b")
    assert request_target(b"") == ("", "")


def test_the_tests_live_servers_answer_like_billport_serve(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, data_dir=tmp_path / "data", now="2026-11-21T12:00:00Z", worker=False
    )
    with opened(settings) as runtime, live_server(runtime) as base:
        host, port = base.removeprefix("http://").split(":")
        token = "Authorization: Bearer " + "a" * 1_000_000
        status, _, body = exchange((host, int(port)), get("/v1/invoices", token))
    assert status == 431
    assert json.loads(body)["code"] == 431
