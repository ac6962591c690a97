"""On the Azure backend a manifest's SAS reads its own directory only (issue 18 item 5).

Two tenants export on Azurite; each downloads its parts with the azure-storage-blob SDK
from ``rootDirectory`` + ``sasToken`` (through billport's route, which streams them from
the container); tenant A's token on tenant B's blob URL reads nothing (403), and the
container itself answers no anonymous read.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobClient

from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.azurite import Azurite, azure_overrides
from tests.support.factory import live_server, opened

pytestmark = pytest.mark.azure
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"
OTHER_INVOICE = "G999999999"  # tests.support.exports: the other tenant's invoice


@pytest.fixture
def runtime(settings: Settings, azurite: Azurite) -> Iterator[Runtime]:
    azure = settings.replace(now="", blob_rows=4, **azure_overrides(azurite))
    with opened(azure) as runtime:
        data.build_dataset(runtime, rows=9)
        yield runtime


def manifest_of(http: httpx.Client, runtime: Runtime, tenant: str, invoice: str) -> Any:
    headers = data.graph_headers(runtime, tenant)
    started = http.post(EXPORT, json={"invoiceId": invoice}, headers=headers)
    assert started.status_code == 202, started.text
    assert Worker(runtime).run(once=True) == 1
    done = http.get(started.headers["Location"], headers=headers).json()
    assert done["status"] == "succeeded", done
    return done["resourceLocation"]


def read(root: str, name: str, token: str) -> bytes:
    content: bytes = BlobClient.from_blob_url(f"{root}/{name}?{token}").download_blob().readall()
    return content


def test_a_tenants_sas_reads_nothing_of_another_tenants_blobs(runtime: Runtime) -> None:
    with live_server(runtime) as base, httpx.Client(base_url=base) as http:
        mine = manifest_of(http, runtime, data.TENANT, data.MODERN)
        theirs = manifest_of(http, runtime, data.OTHER_TENANT, OTHER_INVOICE)
        assert mine["rootDirectory"].startswith(f"{base}/blobs/billedreconfastpath/v1/")
        assert "sr=d" in mine["sasToken"] and "sdd=" in mine["sasToken"]
        for manifest in (mine, theirs):  # each reads its own parts from the container
            for blob in manifest["blobs"]:
                lines = gzip.decompress(read(manifest["rootDirectory"], blob["name"],
                                             manifest["sasToken"])).splitlines()  # fmt: skip
                assert lines
        for blob in theirs["blobs"]:
            with pytest.raises((ClientAuthenticationError, HttpResponseError)) as refused:
                read(theirs["rootDirectory"], blob["name"], mine["sasToken"])
            assert refused.value.status_code == 403
        # Nor does the container answer a read without any of billport's tokens.
        store = runtime.blobs
        name = theirs["rootDirectory"].removeprefix(f"{base}/blobs/") + "/"
        direct = f"{store.container.url}/{name}{theirs['blobs'][0]['name']}"  # type: ignore[attr-defined]
        assert httpx.get(direct).status_code in (403, 404)
