"""Retries of the client's HTTP layer, and error messages of every service envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from billport.client.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    RemoteError,
    check,
    error_for,
)
from billport.client.http import HttpClient, RetryPolicy, retry_after_seconds


def client(handler: httpx.MockTransport, sleeps: list[float], **policy: float) -> HttpClient:
    return HttpClient(
        httpx.Client(transport=handler),
        retry=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=sleeps.append,
        rng=lambda: 0.5,
    )


def scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def test_429_waits_for_retry_after_then_succeeds() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    sleeps: list[float] = []
    response = client(transport, sleeps).request("GET", "https://x/y")
    assert response.json() == {"ok": 1}
    assert sleeps == [7.0]
    assert len(seen) == 2


def test_retry_after_is_capped() -> None:
    transport, _ = scripted(
        httpx.Response(503, headers={"Retry-After": "86400"}), httpx.Response(200)
    )
    sleeps: list[float] = []
    client(transport, sleeps, max_retry_after=30).request("GET", "https://x/y")
    assert sleeps == [30.0]


def test_503_without_retry_after_backs_off_exponentially_with_jitter() -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(503), httpx.Response(200))
    sleeps: list[float] = []
    client(transport, sleeps, backoff=1.0).request("GET", "https://x/y")
    # equal jitter with rng=0.5: 3/4 of 1, 2
    assert sleeps == [0.75, 1.5]
    assert len(seen) == 3


def test_retries_are_bounded_and_the_last_answer_is_an_error() -> None:
    body = {"error": {"code": "TooManyRequests", "message": "slow down"}}
    transport, seen = scripted(httpx.Response(429, json=body, headers={"request-id": "rid-1"}))
    sleeps: list[float] = []
    response = client(transport, sleeps, attempts=4).request("GET", "https://x/y")
    assert len(seen) == 4 and len(sleeps) == 3
    with pytest.raises(RemoteError) as caught:
        check(response)
    assert str(caught.value) == "HTTP 429 TooManyRequests: slow down (request id rid-1)"


def test_connection_errors_are_retried_then_reported() -> None:
    transport, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200))
    sleeps: list[float] = []
    assert client(transport, sleeps).request("GET", "https://x/y").status_code == 200
    assert len(sleeps) == 1

    failing, seen = scripted(httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed, match="refused"):
        client(failing, [], attempts=3).request("GET", "https://x/y")
    assert len(seen) == 3


def test_other_errors_are_not_retried() -> None:
    transport, seen = scripted(httpx.Response(404), httpx.Response(200))
    assert client(transport, []).request("GET", "https://x/y").status_code == 404
    assert len(seen) == 1


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("Sat, 21 Nov 2026 12:00:30 GMT", lambda: now) == 30.0
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def _error(status: int, **kwargs: object) -> RemoteError:
    response = httpx.Response(status, request=httpx.Request("GET", "https://x/y"), **kwargs)  # type: ignore[arg-type]
    return error_for(response)


def test_error_envelopes() -> None:
    graph = _error(
        404,
        json={
            "error": {
                "code": "itemNotFound",
                "message": "No op",
                "innerError": {"request-id": "g1"},
            }
        },
    )
    assert (graph.status, graph.error_code, graph.detail, graph.request_id) == (
        404,
        "itemNotFound",
        "No op",
        "g1",
    )
    pc = _error(
        401,
        json={"code": 800001, "description": "bad token", "data": [], "source": "PartnerFD"},
        headers={"MS-RequestId": "pc1"},
    )
    assert isinstance(pc, AuthenticationFailed) and pc.exit_code == 3
    assert str(pc) == "HTTP 401 800001: bad token (request id pc1)"
    oauth = _error(
        401,
        json={"error": "invalid_client", "error_description": "AADSTS7000215: x", "trace_id": "t1"},
    )
    assert (oauth.error_code, oauth.detail, oauth.request_id) == (
        "invalid_client",
        "AADSTS7000215: x",
        "t1",
    )
    xml = _error(
        403,
        text='<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code>'
        "<Message>Signature expired.\nRequestId:r\nTime:t</Message></Error>",
        headers={"content-type": "application/xml", "x-ms-request-id": "s1"},
    )
    assert str(xml) == "HTTP 403 AuthenticationFailed: Signature expired. (request id s1)"
    plain = _error(502, text="")
    assert str(plain) == "HTTP 502: Bad Gateway"


def refused() -> httpx.ConnectError:
    """What httpx raises when nothing listens: a ConnectError caused by ECONNREFUSED."""
    error = httpx.ConnectError("[Errno 111] Connection refused")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


def test_a_refused_connection_is_tried_once_and_named_plainly() -> None:
    transport, seen = scripted(refused())
    sleeps: list[float] = []
    with pytest.raises(ConnectionFailed) as caught:
        client(transport, sleeps).request("GET", "https://x:8443/y?sig=secret")
    assert len(seen) == 1 and sleeps == []  # nothing listens: waiting would not help
    assert caught.value.refused and caught.value.url == "https://x:8443"
    assert str(caught.value) == "cannot reach https://x:8443: connection refused"


def test_a_refusal_after_an_answer_is_a_restart_and_is_retried() -> None:
    transport, seen = scripted(httpx.Response(200), refused(), httpx.Response(200))
    sleeps: list[float] = []
    http = client(transport, sleeps)
    assert http.request("GET", "https://x/a").status_code == 200
    assert http.request("GET", "https://x/b").status_code == 200
    assert len(seen) == 3 and len(sleeps) == 1


def test_no_answer_names_the_request_without_its_query_or_a_repr() -> None:
    transport, seen = scripted(httpx.ConnectTimeout("timed out"))
    with pytest.raises(ConnectionFailed) as caught:
        client(transport, [], attempts=2).request("GET", "https://x/y?sig=secret")
    assert len(seen) == 2 and not caught.value.refused
    assert str(caught.value) == "GET https://x/y: no answer after 2 tries: timed out"
