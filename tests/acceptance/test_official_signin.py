"""Microsoft's own clients, unchanged, against a real ``billport serve --tls --demo``: msal and
azure-identity get tokens from the dev issuer over HTTPS trusting only billport's local CA,
then the Graph SDK (msgraph-sdk) runs an export to ``succeeded`` with only its base URL
changed, and a blob is downloaded over HTTPS with the manifest's SAS."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from tests.support.processes import free_port, process_env, processes

pytestmark = pytest.mark.slow
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PC_SCOPE = "https://api.partnercenter.microsoft.com/.default"
INVOICE = "G016907411"  # the demo's modern invoice


@dataclass(frozen=True)
class TlsServer:
    url: str
    ca: Path
    tenant: str
    client_id: str
    secret: str

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def banner_value(log: str, label: str) -> str:
    found = re.search(rf"^{label}:\s+(\S+)", log, re.MULTILINE)
    assert found, log
    return found.group(1)


def wait_for_https(url: str, ca: Path, alive: Any, log: Any) -> None:
    """Until ``/healthz`` answers over TLS verified with the CA the server created."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if alive() is not None:
            raise RuntimeError(f"serve exited: {log()}")
        if ca.exists():
            try:
                context = ssl.create_default_context(cafile=str(ca))
                if httpx.get(f"{url}/healthz", verify=context, timeout=2).status_code == 200:
                    return
            except (httpx.TransportError, ssl.SSLError):
                pass  # the CA file may be half-way to being replaced into place
        time.sleep(0.2)
    raise RuntimeError(f"serve --tls did not start: {log()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    root = tmp_path_factory.mktemp("tls")
    env = process_env(f"sqlite:///{root / 'billport.db'}", root / "data", worker=True)
    env["PYTHONUNBUFFERED"] = "1"  # the banner is in the log as soon as it is printed
    port = free_port()
    with processes(root, env) as started:
        proc = started.start("serve", "serve", "--tls", "--demo", "--port", str(port))
        url, ca = f"https://127.0.0.1:{port}", root / "data" / "tls" / "ca.pem"
        wait_for_https(url, ca, proc.poll, lambda: started.log("serve"))
        log = (root / "serve.log").read_text()  # all of it: the banner comes first
        assert f"  {ca}" in log and f"REQUESTS_CA_BUNDLE={ca}" in log  # the CA is announced
        yield TlsServer(
            url,
            ca,
            banner_value(log, "Demo tenant"),
            banner_value(log, "Client id"),
            banner_value(log, "Client secret"),
        )


@pytest.fixture
def msal_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests (under msal) lets these variables override ``verify=``: leave them unset."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.usefixtures("msal_verify")
@pytest.mark.parametrize("discovery", ["off", "billport"])
def test_msal_gets_a_token_over_https(server: TlsServer, discovery: str) -> None:
    instance: bool | str = discovery == "billport" and f"{server.url}/common/discovery/instance"
    app = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=server.secret,
        authority=f"{server.url}/{server.tenant}",
        instance_discovery=instance,
        verify=str(server.ca),
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    token = claims(result["access_token"])
    assert (token["tid"], token["azp"], token["roles"]) == (
        server.tenant,
        server.client_id,
        ["PartnerBilling.Read.All"],
    )


@pytest.mark.usefixtures("msal_verify")
def test_msal_sees_entra_errors(server: TlsServer) -> None:
    app = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential="not-the-secret",
        authority=f"{server.url}/{server.tenant}",
        instance_discovery=False,
        verify=str(server.ca),
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_msal_refuses_a_server_it_does_not_trust(server: TlsServer, msal_verify: None) -> None:
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        msal.ConfidentialClientApplication(  # discovers the tenant's endpoints right away
            server.client_id,
            client_credential=server.secret,
            authority=f"{server.url}/{server.tenant}",
            instance_discovery=False,
        )


def credential(server: TlsServer, secret: str | None = None) -> ClientSecretCredential:
    return ClientSecretCredential(
        server.tenant,
        server.client_id,
        secret or server.secret,
        authority=server.url,
        disable_instance_discovery=True,
        connection_verify=str(server.ca),
    )


def test_azure_identity_gets_tokens_over_https(server: TlsServer) -> None:
    graph = credential(server).get_token(GRAPH_SCOPE)
    assert claims(graph.token)["aud"] == "https://graph.microsoft.com"
    assert graph.expires_on > time.time() + 3000
    pc = credential(server).get_token(PC_SCOPE).token
    response = httpx.get(
        f"{server.url}/v1/invoices",
        headers={"Authorization": f"Bearer {pc}"},
        verify=server.context(),
    )
    assert response.status_code == 200, response.text
    assert INVOICE in {item["id"] for item in response.json()["items"]}
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential(server, "not-the-secret").get_token(GRAPH_SCOPE)


async def sdk_export(server: TlsServer) -> tuple[str, Any]:
    """The Graph SDK's billed-usage export, polled to its end; the Location and the operation."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import HeadersInspectionHandlerOption
    from msgraph.generated.models.partners.billing.attribute_set import AttributeSet
    from msgraph.generated.reports.partners.billing.usage.billed.microsoft_graph_partners_billing_export.export_post_request_body import (  # noqa: E501
        ExportPostRequestBody,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    # Our own transport, closed by us: kiota's wrapper around it does not close it.
    transport = httpx.AsyncHTTPTransport(verify=server.context())
    async with transport, httpx.AsyncClient(transport=transport) as http:
        auth = AzureIdentityAuthenticationProvider(credential(server), scopes=[GRAPH_SCOPE])
        client = GraphClientFactory.create_with_default_middleware(client=http)
        adapter = GraphRequestAdapter(auth, client=client)
        adapter.base_url = f"{server.url}/v1.0"  # the one change from Microsoft's sample
        billing = GraphServiceClient(request_adapter=adapter).reports.partners.billing
        headers = HeadersInspectionHandlerOption(inspect_response_headers=True)
        body = ExportPostRequestBody(invoice_id=INVOICE, attribute_set=AttributeSet.Full)
        export = billing.usage.billed.microsoft_graph_partners_billing_export
        await export.post(body, RequestConfiguration(options=[headers]))
        (location,) = headers.response_headers.get("location")
        operation_id = location.rstrip("/").rsplit("/", 1)[-1]
        for _ in range(240):  # bounded: the demo invoice exports in seconds
            operation: Any = await billing.operations.by_operation_id(operation_id).get()
            if operation.status.value not in ("notStarted", "running"):
                break
            await asyncio.sleep(0.5)
        manifest = await billing.manifests.by_manifest_id(operation.resource_location.id).get()
        return location, (operation, manifest)


# The SDK's generated code uses kiota classes that kiota itself now marks deprecated.
@pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")
def test_graph_sdk_exports_over_https_with_only_the_base_url_changed(server: TlsServer) -> None:
    location, (operation, manifest) = asyncio.run(sdk_export(server))
    assert location.startswith(f"{server.url}/v1.0/reports/partners/billing/operations/")
    assert operation.status.value == "succeeded", operation
    assert manifest.partner_tenant_id == server.tenant and manifest.blob_count >= 1
    assert manifest.root_directory.startswith(f"{server.url}/blobs/")
    blob = manifest.blobs[0]
    response = httpx.get(
        f"{manifest.root_directory}/{blob.name}?{manifest.sas_token}", verify=server.context()
    )
    assert response.status_code == 200, response.text
    rows = [json.loads(line) for line in gzip.decompress(response.content).splitlines()]
    assert rows and {row["InvoiceNumber"] for row in rows} == {INVOICE}
