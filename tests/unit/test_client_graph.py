"""Graph export flow, Partner Center paging and token caching against scripted runtime."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from billport.billing.datasets import AttributeSet, BillingPeriod, Dataset
from billport.client.credentials import GRAPH_SCOPE, BillportCredential, StaticToken
from billport.client.errors import AuthenticationFailed, OperationFailed, OperationTimeout
from billport.client.graph import GraphClient
from billport.client.http import HttpClient, RetryPolicy
from billport.client.models import ExportRequest
from billport.client.partner_center import PartnerCenterClient, date_filter

ROOT = "https://graph.test/v1.0"
OP = f"{ROOT}/reports/partners/billing/operations/op-1"
MANIFEST = {
    "id": "m-1",
    "rootDirectory": "https://storage.test/c/dir",
    "sasToken": "sv=1&sig=abc",
    "blobCount": 1,
    "blobs": [{"name": "part-00000.json.gz", "partitionValue": "default"}],
}


def http(handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float]) -> HttpClient:
    return HttpClient(
        httpx.Client(transport=httpx.MockTransport(handler)),
        retry=RetryPolicy(attempts=4),
        sleep=sleeps.append,
        rng=lambda: 0.0,
    )


def running(status: str = "running", retry_after: str | None = "30") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {"@odata.type": "#microsoft.graph.partners.billing.runningOperation", "id": "op-1"}
    return httpx.Response(200, json={**body, "status": status}, headers=headers)


def succeeded(inline: bool = True) -> httpx.Response:
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation",
        "id": "op-1",
        "status": "succeeded",
        "resourceLocation@odata.navigationLink": f"{ROOT}/reports/partners/billing/manifests/m-1",
    }
    if inline:
        body["resourceLocation"] = MANIFEST
    return httpx.Response(200, json=body)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_start_export_returns_the_location_and_sends_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, headers={"Location": OP})

    graph = GraphClient(StaticToken("tok"), http(handler, []), ROOT)
    request = ExportRequest(
        Dataset.UNBILLED_USAGE,
        billing_period=BillingPeriod.LAST,
        currency="eur",
        attribute_set=AttributeSet.BASIC,
    )
    assert graph.start_export(request) == OP
    sent = seen[0]
    assert sent.url == f"{ROOT}/reports/partners/billing/usage/unbilled/export"
    assert sent.headers["Authorization"] == "Bearer tok"
    assert json.loads(sent.content) == {
        "attributeSet": "basic",
        "billingPeriod": "last",
        "currencyCode": "EUR",
    }


def test_slow_operation_is_polled_with_clamped_retry_after() -> None:
    answers = [running("notStarted", "30"), running("running", "0"), running(retry_after=None)]
    answers += [httpx.Response(429, headers={"Retry-After": "2"}), succeeded()]
    retry_sleeps: list[float] = []
    graph = GraphClient(StaticToken("t"), http(lambda r: answers.pop(0), retry_sleeps), ROOT)
    clock = FakeTime()
    polls: list[tuple[str, float]] = []
    done = graph.wait(
        OP,
        timeout=100,
        min_interval=1,
        max_interval=5,
        progress=lambda op, elapsed: polls.append((op.status, elapsed)),
        clock=lambda: clock.now,
        sleep=clock.sleep,
    )
    assert done.status == "succeeded"
    assert graph.manifest(done).url(done.manifest.blobs[0]) == (  # type: ignore[union-attr]
        "https://storage.test/c/dir/part-00000.json.gz?sv=1&sig=abc"
    )
    assert clock.sleeps == [5, 1, 5]  # 30 clamped down, 0 clamped up, none -> default clamped
    assert retry_sleeps == [2.0]  # the 429 on a poll was retried after its Retry-After
    assert [s for s, _ in polls] == ["notStarted", "running", "running", "succeeded"]
    assert polls[-1][1] == 11


def test_manifest_through_the_navigation_link() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/manifests/m-1"):
            return httpx.Response(200, json=MANIFEST)
        return succeeded(inline=False)

    graph = GraphClient(StaticToken("t"), http(handler, []), ROOT)
    manifest = graph.manifest(graph.operation(OP))
    assert manifest.id == "m-1" and manifest.sas_token == "sv=1&sig=abc"


def test_failed_operation_raises_with_its_code() -> None:
    failed = {
        "@odata.type": "#microsoft.graph.partners.billing.failedOperation",
        "status": "failed",
        "error": {"code": "5000", "message": "No data available"},
    }
    graph = GraphClient(
        StaticToken("t"), http(lambda r: httpx.Response(200, json=failed), []), ROOT
    )
    with pytest.raises(OperationFailed) as caught:
        graph.wait(OP, sleep=lambda s: None)
    assert caught.value.operation_code == "5000"
    assert "code 5000: No data available" in str(caught.value)


def test_overall_timeout() -> None:
    graph = GraphClient(StaticToken("t"), http(lambda r: running(retry_after="10"), []), ROOT)
    clock = FakeTime()
    with pytest.raises(OperationTimeout) as caught:
        graph.wait(OP, timeout=25, clock=lambda: clock.now, sleep=clock.sleep)
    assert clock.sleeps == [10, 10, 5]  # the last wait is cut to the time left
    assert caught.value.operation_url == OP


def test_401_renews_the_token_once() -> None:
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            issued.append(f"tok{len(issued)}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 3600})
        if request.headers["Authorization"] == "Bearer tok0":
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})
        return succeeded()

    client = http(handler, [])
    credential = BillportCredential("https://bp.test", "tid", "cid", "secret", client)
    graph = GraphClient(credential, client, ROOT)
    assert graph.operation(OP).status == "succeeded"
    assert issued == ["tok0", "tok1"]


def test_tokens_are_cached_until_shortly_before_expiry() -> None:
    forms: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": f"t{len(forms)}", "expires_in": 3600})

    now = [0.0]
    credential = BillportCredential(
        "https://bp.test/", "tid", "cid", "s3cret", http(handler, []), clock=lambda: now[0]
    )
    assert credential.token(GRAPH_SCOPE) == "t1"
    now[0] = 3000
    assert credential.token(GRAPH_SCOPE) == "t1"
    now[0] = 3301  # within 300 s of expiry
    assert credential.token(GRAPH_SCOPE) == "t2"
    assert forms[0] == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["s3cret"],
        "scope": [GRAPH_SCOPE],
    }


def test_refused_client_credentials_are_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_client", "error_description": "bad secret", "trace_id": "t9"}
        return httpx.Response(401, json=body)

    credential = BillportCredential("https://bp.test", "tid", "cid", "x", http(handler, []))
    with pytest.raises(AuthenticationFailed, match=r"invalid_client: bad secret \(request id t9\)"):
        credential.token(GRAPH_SCOPE)


def test_invoices_follow_next_links_with_their_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "offset=2" in str(request.url):
            return httpx.Response(200, content=b'{"items": [{"id": "C", "totalCharges": 0.10}]}')
        nxt = {
            "uri": "/invoices?size=2&offset=2",
            "headers": [{"key": "MS-ContinuationToken", "value": "abc"}],
        }
        body = {"items": [{"id": "A"}, {"id": "B"}], "links": {"next": nxt}}
        return httpx.Response(200, json=body)

    pc = PartnerCenterClient(StaticToken("t"), http(handler, []), "https://pc.test")
    query = date_filter(None, None)
    invoices = list(pc.invoices(filter=query, size=2))
    assert [i["id"] for i in invoices] == ["A", "B", "C"]
    assert invoices[2]["totalCharges"] == Decimal("0.10")  # amounts stay exact
    assert str(seen[0].url) == "https://pc.test/v1/invoices?size=2&offset=0"
    assert str(seen[1].url) == "https://pc.test/v1/invoices?size=2&offset=2"
    assert seen[1].headers["MS-ContinuationToken"] == "abc"
    assert len(list(pc.invoices(size=2, pages=1))) == 2


def test_date_filter_shapes() -> None:
    from datetime import date

    one = date_filter(date(2026, 1, 1))
    assert one == {
        "Field": "InvoiceDate",
        "Value": "2026-01-01",
        "Operator": "greater_than_or_equals",
    }
    both = date_filter(date(2026, 1, 1), date(2026, 2, 1))
    assert both is not None and both["Operator"] == "and"
    assert both["RightFilter"]["Operator"] == "less_than_or_equals"
