"""``sdd`` on both blob backends, through the Azure SDK: billport's directory SAS (the local
backend's, and the Azure backend's when downloads go through billport) counts the levels
under the container as Azure does, and still lists and downloads; Azure's own container SAS
(direct downloads from Azurite) has no ``sdd`` and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from azure.storage.blob import BlobClient, ContainerClient

from billport.jobs.worker import Worker
from billport.settings import load_settings
from tests.support import exports as data
from tests.support.azurite import BlobBackend
from tests.support.factory import live_server, opened

EXPORT = "/v1.0/reports/partners/billing/usage/billed/export"


def check_azure(manifest: dict[str, Any]) -> None:
    root, token = manifest["rootDirectory"], manifest["sasToken"]
    query = dict(parse_qsl(token))
    assert query["sr"] == "c" and "sdd" not in query  # Azure's container SAS, read only
    for blob in manifest["blobs"]:
        url = f"{root}/{blob['name']}?{token}"
        assert BlobClient.from_blob_url(url).download_blob().readall()


def check_local(manifest: dict[str, Any]) -> None:
    root, token = manifest["rootDirectory"], manifest["sasToken"]
    head, rest = root.split("/blobs/", 1)
    container, directory = rest.split("/", 1)
    query = dict(parse_qsl(token))
    # v1/PartnerTenantId/BillingMonth/InvoiceId/InvoiceVersion/Fragment/PartitionType
    assert query["sr"] == "d" and query["sdd"] == "7" == str(len(directory.split("/")))
    client = ContainerClient.from_container_url(f"{head}/blobs/{container}", credential=token)
    listed = [b.name for b in client.list_blobs(name_starts_with=f"{directory}/")]
    assert listed == sorted(f"{directory}/{b['name']}" for b in manifest["blobs"])
    for name in listed:
        assert client.get_blob_client(name).download_blob().readall()
    for blob in manifest["blobs"]:
        url = f"{root}/{blob['name']}?{token}"
        assert BlobClient.from_blob_url(url).download_blob().readall()


@pytest.mark.slow  # two exports through a live server, one on Azurite
def test_the_manifest_token_reads_and_lists_with_the_sdk(
    blob_backend: BlobBackend, tmp_path: Path
) -> None:
    settings = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'billport.db'}",
        worker=False,  # and the wall clock: Azurite checks SAS expiry against it
        blob_rows=4,
        **blob_backend.overrides,
    )
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=9)
        with live_server(runtime) as base, httpx.Client(base_url=base) as http:
            headers = data.graph_headers(runtime)
            response = http.post(EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
            assert response.status_code == 202
            Worker(runtime).run(once=True)
            manifest = http.get(response.headers["Location"], headers=headers).json()
            assert manifest["resourceLocation"]["blobCount"] == 3
            resource = manifest["resourceLocation"]
            # The Azure backend hands out billport's directory SAS when downloads go through
            # billport's route, Azure's container SAS when clients go to storage directly.
            direct = dict(parse_qsl(resource["sasToken"]))["sr"] == "c"
            assert not direct or blob_backend.name == "azure"
            (check_azure if direct else check_local)(resource)
