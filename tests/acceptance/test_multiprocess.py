"""Two ``serve --no-worker`` and two ``worker`` processes on PostgreSQL; server restarts.

Each test runs on the local blob directory and on Azure Blob Storage (Azurite).

Exports from several tenants go in through both servers at once and are polled through the
other one; every export succeeds, another tenant's operation answers 404, and every
manifest's row count matches the store (and the downloaded lines).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.runtime import Runtime
from billport.settings import load_settings
from billport.store.manifests import get_manifest
from billport.store.tables import line_items
from tests.support import exports as data
from tests.support.azurite import BlobBackend
from tests.support.factory import opened
from tests.support.processes import bulk_lines, manifest_lines, process_env, processes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CLOSE = {"Connection": "close"}  # no keep-alive holding up a server's graceful stop
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"
THIRD_TENANT = "3c1d2e4f-0000-4000-8000-000000000003"
THIRD_INVOICE = "G333333333"
# Tenant -> (invoice, rows): one export above the partition size, the others around it.
INVOICES = {
    data.TENANT: (data.MODERN, 12_000),
    data.OTHER_TENANT: ("G999999999", 3_000),
    THIRD_TENANT: (THIRD_INVOICE, 7_000),
}
KNOBS: dict[str, object] = dict(
    partition_rows=2_500, blob_rows=1_000, lease_seconds=5, worker_listen_seconds=2
)


@contextmanager
def opened_store(pg_url: str, data_dir: Path, backend: BlobBackend) -> Iterator[Runtime]:
    """The test's Runtime over the tenants and invoices of ``INVOICES``."""
    settings = load_settings(
        environ={}, data_dir=data_dir, database_url=pg_url, **KNOBS, **backend.overrides
    )
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=0)
        with runtime.db.begin() as conn:
            data.add_partner(conn, THIRD_TENANT, False)
            data.add_invoice(conn, THIRD_TENANT, THIRD_INVOICE, "modern")
            for tenant, (invoice, rows) in INVOICES.items():
                bulk_lines(conn, tenant, invoice, rows)
        yield runtime


def stored_count(runtime: Runtime, tenant: str, invoice: str) -> int:
    query = sa.select(sa.func.count()).where(
        line_items.c.tenant_id == tenant,
        line_items.c.dataset == Dataset.BILLED_RECONCILIATION.code,
        line_items.c.invoice_id == invoice,
    )
    with runtime.db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def poll(client: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish")


def via(base: str, location: str) -> str:
    """The same operation URL on another server."""
    return base + location[location.index("/v1.0/") :]


def test_two_servers_two_workers_several_tenants(
    pg_url: str, tmp_path: Path, blob_backend: BlobBackend
) -> None:
    env = process_env(pg_url, tmp_path / "data", **KNOBS, **blob_backend.overrides)
    with (
        opened_store(pg_url, tmp_path / "data", blob_backend) as runtime,
        processes(tmp_path, env) as procs,
        httpx.Client(timeout=30) as client,
    ):
        servers = [procs.serve("serve-a"), procs.serve("serve-b")]
        procs.start("w1", "worker", "--name", "w1")
        procs.start("w2", "worker", "--name", "w2")
        jobs = [
            (tenant, invoice, servers[n % 2], data.graph_headers(runtime, tenant))
            for n, (tenant, (invoice, _rows)) in enumerate(INVOICES.items())
            for _ in range(2)  # each tenant twice: the second may reuse the manifest
        ]

        def post(job: tuple[str, str, str, dict[str, str]]) -> str:
            _tenant, invoice, base, headers = job
            response = client.post(base + EXPORT, json={"invoiceId": invoice}, headers=headers)
            assert response.status_code == 202, response.text
            return response.headers["Location"]

        with ThreadPoolExecutor(len(jobs)) as pool:
            locations = list(pool.map(post, jobs))
        for (tenant, invoice, base, headers), location in zip(jobs, locations, strict=True):
            other = servers[1] if base == servers[0] else servers[0]
            done = poll(client, via(other, location), headers)
            assert done["status"] == "succeeded", done
            manifest = done["resourceLocation"]
            assert manifest["partnerTenantId"] == tenant
            rows = stored_count(runtime, tenant, invoice)
            with runtime.db.connect() as conn:
                stored = get_manifest(conn, tenant, manifest["id"])
            assert stored is not None
            assert stored.row_count == rows >= INVOICES[tenant][1]
            assert sum(b.rows for b in stored.blobs) == rows
            assert len(manifest_lines(client, manifest)) == rows
            for stranger in INVOICES:
                if stranger != tenant:
                    denied = client.get(location, headers=data.graph_headers(runtime, stranger))
                    assert denied.status_code == 404


def test_a_server_restart_loses_no_operation_or_manifest(
    pg_url: str, tmp_path: Path, blob_backend: BlobBackend
) -> None:
    env = process_env(pg_url, tmp_path / "data", **KNOBS, **blob_backend.overrides)
    with opened_store(pg_url, tmp_path / "data", blob_backend) as runtime:
        headers = data.graph_headers(runtime, data.TENANT)
        with processes(tmp_path, env) as procs, httpx.Client(timeout=30, headers=CLOSE) as client:
            first = procs.serve("serve-1")
            response = client.post(first + EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
            assert response.status_code == 202, response.text
            location = response.headers["Location"]
            procs.stop(procs.started[0])  # SIGTERM between request and poll
            second = procs.serve("serve-2")
            waiting = client.get(via(second, location), headers=headers).json()
            assert waiting["status"] == "notStarted"
            procs.start("w1", "worker", "--name", "w1")
            done = poll(client, via(second, location), headers)
            assert done["status"] == "succeeded", done
            procs.stop(procs.started[1])
            third = procs.serve("serve-3")
            again = client.get(via(third, location), headers=headers).json()
            assert again["status"] == "succeeded"
            assert again["resourceLocation"]["id"] == done["resourceLocation"]["id"]
            lines = manifest_lines(client, again["resourceLocation"])
            assert len(lines) == INVOICES[data.TENANT][1]
