"""A client that waits exactly the Retry-After it was told reuses its connection.

uvicorn closes idle keep-alive connections after 5 s by default, the same 5 s the real
service (and billport, before) sent as Retry-After: a client polling on time raced the
server closing its connection. ``BILLPORT_KEEP_ALIVE_SECONDS`` (120 s) keeps it open.
http.client never reconnects on its own, so a connection the server closed fails here.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import live_server, opened
from tests.support.sandbox import admin_headers

pytestmark = pytest.mark.slow
OPERATION_PATH = "/v1.0/reports/partners/billing/reconciliation/billed/export"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        data.build_dataset(runtime)
        yield runtime


def polls_on_time(runtime: Runtime, retry_after: int) -> list[int]:
    """Statuses of: put the scenario, start an export, poll it twice on one connection,
    waiting exactly ``Retry-After`` in between."""
    with live_server(runtime, worker=True) as base:
        where = urlsplit(base)
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
        statuses = []

        def call(method: str, path: str, body: object, headers: dict[str, str]) -> dict:
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, payload, {"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            statuses.append(response.status)
            text = response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            return {"headers": headers, "body": text}

        scenario = {"retryAfter": retry_after, "progression": "polls:3"}
        call("PUT", "/_billport/scenario", scenario, admin_headers(runtime))
        graph = data.graph_headers(runtime)
        started = call("POST", OPERATION_PATH, {"invoiceId": data.MODERN}, graph)
        location = urlsplit(started["headers"]["location"]).path
        first = call("GET", location, None, graph)
        time.sleep(float(first["headers"]["retry-after"]))  # exactly as told
        try:
            call("GET", location, None, graph)
        except (http.client.RemoteDisconnected, ConnectionError):
            statuses.append(0)  # the server had closed the connection
        conn.close()
        return statuses


def test_a_poll_exactly_at_retry_after_reuses_the_connection(runtime: Runtime) -> None:
    assert runtime.settings.keep_alive_seconds > 6
    assert polls_on_time(runtime, retry_after=6) == [200, 202, 200, 200]


def test_a_keep_alive_shorter_than_retry_after_would_drop_it(settings: Settings) -> None:
    with opened(settings, keep_alive_seconds=1.0) as runtime:
        data.build_dataset(runtime)
        assert polls_on_time(runtime, retry_after=2)[-1] == 0
