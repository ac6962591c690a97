"""The export flow on Azure Blob Storage (Azurite) with BILLPORT_AZURE_DIRECT_DOWNLOADS:
clients download straight from storage (tests/integration/test_azure_scoped_downloads.py
has the default, downloads through billport's route).

Request an export through the app, run the worker, read the operation, and download every
part with the azure-storage-blob SDK from ``rootDirectory`` + ``sasToken``, as a real client
of the Microsoft service does. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient
from fastapi.testclient import TestClient

from billport.auth.issuer import GRAPH_AUDIENCE, issue_token
from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.blobs.azure import STAGING, AzureBlobStore
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import operations as op_store
from billport.usecases import operations
from tests.support import exports as data
from tests.support.azurite import Azurite, azure_overrides
from tests.support.factory import app_client, opened

pytestmark = pytest.mark.azure
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"


@pytest.fixture
def runtime(settings: Settings, azurite: Azurite) -> Iterator[Runtime]:
    # Azurite checks SAS expiry against the wall clock, so these tests run on it too.
    azure = settings.replace(
        now="", blob_rows=4, azure_direct_downloads=True, **azure_overrides(azurite)
    )
    with opened(azure) as runtime:
        data.build_dataset(runtime, rows=9)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as test_client:
        yield test_client


def store_of(runtime: Runtime) -> AzureBlobStore:
    assert isinstance(runtime.blobs, AzureBlobStore)
    return runtime.blobs


def export_and_run(client: TestClient, runtime: Runtime) -> dict[str, Any]:
    """POST the export, run the worker, return the succeeded operation's ``resourceLocation``."""
    headers = data.graph_headers(runtime)
    started = client.post(EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
    assert started.status_code == 202, started.text
    assert Worker(runtime).run(once=True) == 1
    done = client.get(started.headers["Location"], headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    location: dict[str, Any] = done.json()["resourceLocation"]
    return location


def download(manifest: dict[str, Any], blob: dict[str, Any]) -> bytes:
    url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
    content: bytes = BlobClient.from_blob_url(url).download_blob().readall()
    return content


def nothing_staged(store: AzureBlobStore) -> bool:
    committed = {b.name for b in store.container.list_blobs()}
    every = [b.name for b in store.container.list_blobs(include=["uncommittedblobs"])]
    return all(n in committed and not n.startswith(STAGING) for n in every)


def test_parts_download_from_storage_with_the_sdk(client: TestClient, runtime: Runtime) -> None:
    manifest = export_and_run(client, runtime)
    store = store_of(runtime)
    assert manifest["rootDirectory"].startswith(f"{store.container.url}/billedreconfastpath/v1/")
    assert "sig=" in manifest["sasToken"] and "sp=r&" in manifest["sasToken"]
    stored = operations.read_manifest(runtime.db, data.TENANT, manifest["id"])
    assert [b.rows for b in stored.blobs] == [4, 4, 1]
    lines: list[bytes] = []
    for blob, expected in zip(manifest["blobs"], stored.blobs, strict=True):
        content = download(manifest, blob)
        assert len(content) == expected.size
        lines += gzip.decompress(content).splitlines()
    assert lines == data.stored_docs(
        runtime,
        Dataset.BILLED_RECONCILIATION,
        AttributeSet.FULL,
        tenant_id=data.TENANT,
        invoice_id=data.MODERN,
    )
    assert nothing_staged(store)


def test_an_expired_sas_is_refused_by_storage(client: TestClient, runtime: Runtime) -> None:
    manifest = export_and_run(client, runtime)
    assert download(manifest, manifest["blobs"][0])  # fresh: readable
    lifetime = runtime.settings.sas_lifetime
    past = datetime.now(UTC) - timedelta(seconds=lifetime + 120)
    runtime.clock = lambda: past  # the manifest is read again, its token minted long ago
    token = issue_token(
        runtime.keys,
        runtime.settings,
        tenant_id=data.TENANT,
        client_id="test-client",
        audience=GRAPH_AUDIENCE,
        now=past,
    )
    location = client.get(
        f"/v1.0/reports/partners/billing/manifests/{manifest['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert location.status_code == 200
    stale = location.json()
    assert stale["sasToken"] != manifest["sasToken"]
    with pytest.raises(HttpResponseError) as refused:
        download(stale, stale["blobs"][0])
    assert refused.value.status_code == 403


def test_a_crashed_exports_staged_blocks_never_appear(runtime: Runtime) -> None:
    store = store_of(runtime)
    op = operations.request_export(
        runtime.db,
        runtime.clock,
        data.TENANT,
        Dataset.BILLED_RECONCILIATION,
        {"invoiceId": data.MODERN},
    )
    with runtime.db.begin() as conn:
        crashed = op_store.lease_next(
            conn, owner="crashed-worker", now=runtime.clock(), lease_seconds=30
        )
    assert crashed is not None and crashed.operation_id == op.operation_id
    # The crashed worker had uploaded blocks of a part it never published.
    dead_name = "billedreconfastpath/v1/dead/part-00000-dead.c000.json.gz"
    staged = store.stage(op.operation_id, dead_name)
    staged.stream.write(b"half a part")
    staged.close()
    assert not nothing_staged(store)
    start = runtime.clock()
    runtime.clock = lambda: start + timedelta(seconds=31)
    assert Worker(runtime, name="rescuer").run(once=True) == 1
    view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert view.manifest is not None and view.manifest.row_count == 9
    assert store.info(dead_name) is None
    assert nothing_staged(store)  # blocks purged, markers gone
    published = {b.name for b in store.container.list_blobs()}
    names = {f"{view.manifest.root_path}/{b.name}" for b in view.manifest.blobs}
    assert published == names
