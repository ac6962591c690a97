"""Served over TLS, every URL billport builds says https: the discovery document, instance
discovery, the export's ``Location``, the operation's manifest link, the blob root."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
import pytest

from billport.cli.tls import ensure_local_tls, server_names
from billport.settings import Settings
from tests.support.exports import MODERN, TENANT, build_dataset, download_rows, graph_headers
from tests.support.factory import app_for, opened
from tests.support.live_server import serve_in_thread

pytestmark = pytest.mark.slow  # a live server with a worker, on each database


def test_every_link_says_https_under_tls(settings: Settings, tmp_path: Path) -> None:
    files = ensure_local_tls(tmp_path / "tls", server_names([]))
    trust = ssl.create_default_context(cafile=str(files.ca))
    with (
        opened(settings) as runtime,
        serve_in_thread(app_for(runtime, worker=True), tls=files) as url,
        httpx.Client(verify=trust, headers=graph_headers(runtime)) as http,
    ):
        assert url.startswith("https://127.0.0.1:")
        build_dataset(runtime)
        config = http.get(f"{url}/{TENANT}/v2.0/.well-known/openid-configuration").json()
        assert config["token_endpoint"] == f"{url}/{TENANT}/oauth2/v2.0/token"
        assert http.get(config["jwks_uri"]).status_code == 200
        authorize = f"https://127.0.0.1/{TENANT}/oauth2/v2.0/authorize"  # msal drops the port
        instance = http.get(
            f"{url}/common/discovery/instance", params={"authorization_endpoint": authorize}
        ).json()
        assert instance["tenant_discovery_endpoint"].startswith(f"{url}/{TENANT}/")
        started = http.post(
            f"{url}/v1.0/reports/partners/billing/reconciliation/billed/export",
            json={"invoiceId": MODERN, "attributeSet": "full"},
        )
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        assert location.startswith(f"{url}/v1.0/reports/partners/billing/operations/")
        operation = http.get(location).json()
        for _ in range(200):  # bounded: seven rows export in well under a second
            if operation["status"] not in ("notStarted", "running"):
                break
            time.sleep(0.05)
            operation = http.get(location).json()
        assert operation["status"] == "succeeded", operation
        manifest = http.get(operation["resourceLocation@odata.navigationLink"]).json()
        assert manifest["rootDirectory"].startswith(f"{url}/blobs/")
        assert len(download_rows(http, manifest)) == 7
