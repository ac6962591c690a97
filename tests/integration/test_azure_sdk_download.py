"""The azure-storage-blob SDK downloads an export through billport's signed URLs."""

from __future__ import annotations

import gzip

import httpx
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobClient

from billport.billing.datasets import AttributeSet, Dataset
from billport.jobs.worker import Worker
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import live_server, opened


def test_blob_client_from_blob_url_downloads_every_part(settings: Settings) -> None:
    with opened(settings, blob_rows=4) as runtime:
        data.build_dataset(runtime, rows=9)
        with live_server(runtime) as base, httpx.Client(base_url=base) as http:
            headers = data.graph_headers(runtime)
            response = http.post(
                "/v1.0/reports/partners/billing/reconciliation/billed/"
                "microsoft.graph.partners.billing.export",
                json={"invoiceId": data.MODERN},
                headers=headers,
            )
            assert response.status_code == 202
            Worker(runtime).run(once=True)
            manifest = http.get(response.headers["Location"], headers=headers).json()[
                "resourceLocation"
            ]
            lines: list[bytes] = []
            for blob in manifest["blobs"]:
                url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
                client = BlobClient.from_blob_url(url)
                downloader = client.download_blob()
                content = downloader.readall()
                assert downloader.size == len(content)
                assert client.get_blob_properties().size == len(content)
                lines += gzip.decompress(content).splitlines()
            assert lines == data.stored_docs(
                runtime,
                Dataset.BILLED_RECONCILIATION,
                AttributeSet.FULL,
                tenant_id=data.TENANT,
                invoice_id=data.MODERN,
            )
            bad = f"{manifest['rootDirectory']}/{manifest['blobs'][0]['name']}?" + manifest[
                "sasToken"
            ].replace("sp=rl", "sp=r")
            try:
                BlobClient.from_blob_url(bad).download_blob().readall()
            except (ClientAuthenticationError, HttpResponseError) as error:
                assert error.status_code == 403
            else:
                raise AssertionError("a tampered SAS must be refused")
