"""URLs the server hands out never come from an untrusted Host; the client sends its token
only to the origin it was configured for (issue 18 item 5)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from billport.billing.datasets import Dataset
from billport.client.credentials import StaticToken
from billport.client.errors import ClientError
from billport.client.graph import GraphClient
from billport.client.http import HttpClient
from billport.client.models import ExportRequest
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, opened

EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"
BODY = {"invoiceId": data.MODERN}


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings.replace(allowed_hosts="localhost,127.0.0.1,::1")) as runtime:
        data.build_dataset(runtime)
        yield runtime


def test_an_unlisted_host_gets_a_400_not_its_own_urls(runtime: Runtime) -> None:
    headers = data.graph_headers(runtime)
    with app_client(runtime, base_url="http://evil.example") as evil:
        export = evil.post(EXPORT, json=BODY, headers=headers)
        assert export.status_code == 400, export.text
        assert "evil.example" not in export.headers.get("location", "")
        assert "BILLPORT_PUBLIC_URL" in export.json()["error"]["message"]
        discovery = evil.get(f"/{data.TENANT}/v2.0/.well-known/openid-configuration")
        assert discovery.status_code == 400 and "token_endpoint" not in discovery.text
    with app_client(runtime, base_url="http://localhost:8000") as local:
        accepted = local.post(EXPORT, json=BODY, headers=headers)
        assert accepted.status_code == 202
        assert accepted.headers["location"].startswith("http://localhost:8000/v1.0/")


def test_the_public_url_wins_over_any_host(settings: Settings) -> None:
    public = settings.replace(public_url="https://billing.example.com", allowed_hosts="")
    with opened(public) as runtime:
        data.build_dataset(runtime)
        with app_client(runtime, base_url="http://evil.example") as evil:
            export = evil.post(EXPORT, json=BODY, headers=data.graph_headers(runtime))
            assert export.status_code == 202
            assert export.headers["location"].startswith("https://billing.example.com/v1.0/")


def test_a_star_reflects_any_host(settings: Settings) -> None:
    with opened(settings.replace(allowed_hosts="*")) as runtime:
        data.build_dataset(runtime)
        with app_client(runtime, base_url="http://anything.example") as client:
            export = client.post(EXPORT, json=BODY, headers=data.graph_headers(runtime))
            assert export.headers["location"].startswith("http://anything.example/")


def test_the_client_sends_its_token_only_to_its_own_origin() -> None:
    sent: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202, headers={"Location": "http://evil.example/v1.0/op/1"})

    http = HttpClient(httpx.Client(transport=httpx.MockTransport(service)))
    graph = GraphClient(StaticToken("secret-token"), http, "http://127.0.0.1:8000/v1.0")
    location = graph.start_export(ExportRequest(Dataset.BILLED_RECONCILIATION, invoice_id="G1"))
    with pytest.raises(ClientError, match="refusing to send the bearer token to http://evil"):
        graph.operation(location)
    assert [r.url.host for r in sent] == ["127.0.0.1"]  # nothing went to evil.example
    assert sent[0].headers["Authorization"] == "Bearer secret-token"
