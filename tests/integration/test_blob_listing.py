"""The azure-storage-blob SDK lists an export's directory with the manifest's SAS, as Azure's
List Blobs (``?restype=container&comp=list``) answers it: only that directory, and only with
a SAS that grants ``l``."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient

from billport.billing.datasets import AttributeSet, Dataset
from billport.blobs import sas
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings, load_settings
from tests.support import exports as data
from tests.support.factory import live_server, opened


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Listing never reads the database, so one backend is enough here."""
    return load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'billport.db'}",
        now="2026-11-21T12:00:00Z",
        worker=False,
    )


class Export:
    def __init__(self, runtime: Runtime, base: str, manifest: dict[str, Any]) -> None:
        self.runtime = runtime
        self.manifest = manifest
        # rootDirectory = {base}/blobs/{container}/{directory}: the container URL + directory
        rest = manifest["rootDirectory"].removeprefix(f"{base}/blobs/")
        self.container, self.directory = rest.split("/", 1)
        self.container_url = f"{base}/blobs/{self.container}"
        self.sas = manifest["sasToken"]

    def client(self, sas_token: str | None = None) -> ContainerClient:
        return ContainerClient.from_container_url(
            self.container_url, credential=sas_token or self.sas
        )

    def publish(self, path: str, content: bytes) -> None:
        staged = self.runtime.blobs.stage("test-extra", path)
        staged.stream.write(content)
        staged.close()
        self.runtime.blobs.publish(staged)


@contextmanager
def exported(settings: Settings) -> Iterator[Export]:
    """A live server over a finished 3-blob export of TENANT's MODERN invoice."""
    with opened(settings, blob_rows=4) as runtime:
        data.build_dataset(runtime, rows=9)
        with live_server(runtime) as base, httpx.Client(base_url=base) as http:
            headers = data.graph_headers(runtime)
            response = http.post(
                "/v1.0/reports/partners/billing/reconciliation/billed/export",
                json={"invoiceId": data.MODERN},
                headers=headers,
            )
            assert response.status_code == 202
            Worker(runtime).run(once=True)
            operation = http.get(response.headers["Location"], headers=headers).json()
            export = Export(runtime, base, operation["resourceLocation"])
            assert export.manifest["blobCount"] == 3
            yield export


def names(export: Export) -> list[str]:
    return sorted(f"{export.directory}/{blob['name']}" for blob in export.manifest["blobs"])


def test_list_blobs_returns_the_manifests_blobs_which_download(sqlite_settings: Settings) -> None:
    with exported(sqlite_settings) as export:
        # Neighbours the listing must not show: a sibling sharing the directory's characters,
        # another directory of the container, and a staged (unpublished) blob.
        export.publish(f"{export.container}/{export.directory}X/part-sibling.json.gz", b"x")
        export.publish(f"{export.container}/v1/PartnerTenantId=other/part.json.gz", b"y")
        staged = export.runtime.blobs.stage(
            "test-staging", f"{export.container}/{names(export)[0]}x"
        )
        staged.stream.write(b"staged")
        staged.close()
        client = export.client()
        for prefix in (f"{export.directory}/", export.directory, f"{export.directory}/part-"):
            listed = list(client.list_blobs(name_starts_with=prefix))
            assert [blob.name for blob in listed] == names(export), prefix
        # A prefix is a string, never a path: walking up from inside the directory finds nothing.
        assert list(client.list_blobs(name_starts_with=f"{export.directory}/../../")) == []
        # The constructor form: the account URL is {base}/blobs, the container its own argument.
        account_url = export.container_url.rsplit("/", 1)[0]
        built = ContainerClient(account_url, export.container, credential=export.sas)
        by_constructor = built.list_blobs(name_starts_with=f"{export.directory}/")
        assert [blob.name for blob in by_constructor] == names(export)
        lines: list[bytes] = []
        for blob in listed:
            info = export.runtime.blobs.info(f"{export.container}/{blob.name}")
            assert info is not None and blob.size == info.size and blob.etag == info.etag
            assert blob.blob_type == "BlockBlob"
            assert blob.content_settings.content_type == "application/octet-stream"
            assert blob.last_modified == info.last_modified
            content = client.get_blob_client(blob.name).download_blob().readall()
            assert len(content) == blob.size
            lines += gzip.decompress(content).splitlines()
        assert lines == data.stored_docs(
            export.runtime,
            Dataset.BILLED_RECONCILIATION,
            AttributeSet.FULL,
            tenant_id=data.TENANT,
            invoice_id=data.MODERN,
        )


def test_pages_of_one_blob_list_every_blob(sqlite_settings: Settings) -> None:
    with exported(sqlite_settings) as export:
        pages = export.client().list_blobs(name_starts_with=export.directory, results_per_page=1)
        seen = [[blob.name for blob in page] for page in pages.by_page()]
        assert seen == [[name] for name in names(export)]


def test_the_xml_is_azures_enumeration_results(sqlite_settings: Settings) -> None:
    with exported(sqlite_settings) as export, httpx.Client() as http:
        query = f"restype=container&comp=list&prefix={export.directory}/&maxresults=2"
        response = http.get(f"{export.container_url}?{query}&{export.sas}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)
        assert root.tag == "EnumerationResults"
        assert root.get("ContainerName") == export.container
        blobs = root.findall("./Blobs/Blob")
        assert [b.findtext("Name") for b in blobs] == names(export)[:2]
        properties = blobs[0].find("Properties")
        assert properties is not None
        for tag in ("Content-Length", "Last-Modified", "Etag", "Content-Type", "BlobType"):
            assert properties.findtext(tag), tag
        assert root.findtext("NextMarker") == names(export)[2]
        bad = http.get(f"{export.container_url}?{query.replace('=2', '=0')}&{export.sas}")
        assert bad.status_code == 400


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "v1/",
        "v1/PartnerTenantId=other/",
        "{directory}X/",  # a sibling that extends the directory's last segment
        "{parent}/",
    ],
)
def test_a_prefix_outside_the_signed_directory_is_refused(
    sqlite_settings: Settings, prefix: str
) -> None:
    with exported(sqlite_settings) as export:
        wanted = prefix.format(
            directory=export.directory, parent=export.directory.rsplit("/", 1)[0]
        )
        with pytest.raises(HttpResponseError) as refused:
            list(export.client().list_blobs(name_starts_with=wanted or None))
        assert refused.value.status_code == 403
        assert refused.value.error_code == "AuthenticationFailed"


def test_a_sas_without_list_permission_is_refused(sqlite_settings: Settings) -> None:
    with exported(sqlite_settings) as export:
        runtime = export.runtime
        signed = f"{export.container}/{export.directory}"
        read_only = sas.mint(
            runtime.keys.sas_key, signed, now=runtime.clock(), lifetime=600, permissions="r"
        )
        client = export.client(read_only)
        first = names(export)[0]
        assert client.get_blob_client(first).download_blob().readall()  # validly signed
        with pytest.raises(HttpResponseError) as refused:
            list(client.list_blobs(name_starts_with=f"{export.directory}/"))
        assert refused.value.status_code == 403
        assert refused.value.error_code == "AuthorizationPermissionMismatch"
        tampered = export.sas.replace("sp=rl", "sp=l")
        with pytest.raises(HttpResponseError) as forged:
            list(export.client(tampered).list_blobs(name_starts_with=f"{export.directory}/"))
        assert forged.value.error_code == "AuthenticationFailed"
        expired = sas.mint(
            runtime.keys.sas_key, signed, now=runtime.clock() - timedelta(hours=2), lifetime=3600
        )
        with pytest.raises(HttpResponseError) as late:
            list(export.client(expired).list_blobs(name_starts_with=f"{export.directory}/"))
        assert late.value.status_code == 403 and "expired" in str(late.value)
