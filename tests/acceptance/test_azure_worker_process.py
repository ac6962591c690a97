"""``billport worker`` as a real process writing an export to Azure Blob Storage (Azurite).

The connection string comes from the environment (secrets never go on a command line), the
backend and container from CLI flags; a misconfigured backend stops the process with a clear
message instead of failing at the first export.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.blobs.azure import AzureBlobStore
from billport.settings import Settings
from billport.usecases import operations
from tests.support import exports as data
from tests.support.azurite import REPO_ROOT, Azurite, azure_overrides
from tests.support.factory import opened

pytestmark = [pytest.mark.azure, pytest.mark.slow]
TIMEOUT = 120


def run_worker(
    settings: Settings, *flags: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "billport", "worker", "--once"]
    command += ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    base = {k: v for k, v in os.environ.items() if not k.startswith("BILLPORT_")}
    return subprocess.run(
        [*command, *flags],
        env={**base, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_worker_process_exports_to_azure(settings: Settings, azurite: Azurite) -> None:
    azure = settings.replace(now="", blob_rows=3, **azure_overrides(azurite))
    with opened(azure) as runtime:
        data.build_dataset(runtime, rows=7)
        op = operations.request_export(
            runtime.db,
            runtime.clock,
            data.TENANT,
            Dataset.BILLED_USAGE,
            {"invoiceId": data.MODERN, "attributeSet": "basic"},
        )
        done = run_worker(
            azure,
            "--blob-backend",
            "azure",
            "--azure-container",
            azure.azure_container,
            env={
                "BILLPORT_AZURE_CONNECTION_STRING": azurite.connection_string,
                "BILLPORT_PART_ROWS": "3",
            },
        )
        assert done.returncode == 0, done.stderr
        view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
        assert view.operation.status is Status.SUCCEEDED and view.manifest is not None
        store = runtime.blobs
        assert isinstance(store, AzureBlobStore)
        lines: list[bytes] = []
        for blob in view.manifest.blobs:
            part = b"".join(store.read(f"{view.manifest.root_path}/{blob.name}"))
            assert len(part) == blob.size
            lines += gzip.decompress(part).splitlines()
        assert [b.rows for b in view.manifest.blobs] == [3, 3, 1]
        assert lines == data.stored_docs(
            runtime,
            Dataset.BILLED_USAGE,
            AttributeSet.BASIC,
            tenant_id=data.TENANT,
            invoice_id=data.MODERN,
        )
        assert not (azure.data_dir / "blobs").exists()  # nothing went to the local backend


def test_a_misconfigured_backend_stops_the_worker(settings: Settings) -> None:
    done = run_worker(settings, "--blob-backend", "azure", env={})
    assert done.returncode != 0
    assert "BILLPORT_AZURE_CONNECTION_STRING" in done.stderr
    assert "Traceback" not in done.stderr
