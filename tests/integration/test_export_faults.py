"""Exports under real faults: a full disk, a database connection killed mid-export.

Either the export is retried and succeeds with every row once, or it fails cleanly with
a clear message; it never stays `running`, no blob or staging file is left behind, and
the server goes on serving.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from billport.billing.operations import Status
from billport.jobs import worker as worker_module
from billport.jobs.worker import Worker
from billport.settings import Settings
from billport.store.manifests import get_manifest
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import app_client, opened


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def small_blob_disk(settings: Settings) -> Iterator[Path]:
    """The blob root on a 16 KiB tmpfs of its own (needs root, as on CI's machines)."""
    root = settings.blob_dir
    root.mkdir(parents=True, mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", str(root)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_full_disk_fails_the_export_cleanly(
    settings: Settings, small_blob_disk: Path, quick_backoff: None
) -> None:
    with opened(settings, export_processes=1) as runtime:
        data.build_dataset(runtime, rows=1500)  # ~34 KB gzipped: twice what the disk holds
        operation_id = data.queue_export(runtime)
        assert Worker(runtime).run(once=True) == 3  # retried after a wait, then failed
        op = operations.read_operation(runtime.db, data.TENANT, operation_id).operation
        assert op.status is Status.FAILED
        assert op.error_code == "500"
        assert "Blob storage is full (no space left on device)" in (op.error_message or "")
        assert files_under(small_blob_disk) == []  # no blob, no staging file
        with app_client(runtime) as client:
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert "MiB free under" in ready.json()["checks"]["blob storage"]
            poll = client.get(
                f"/v1.0/reports/partners/billing/operations/{operation_id}",
                headers=data.graph_headers(runtime),
            )
            assert poll.json()["status"] == "failed"


@pytest.mark.postgres
def test_a_database_connection_killed_mid_export_is_retried(
    settings: Settings, quick_backoff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("kills PostgreSQL backends")
    from billport.exports import ranges

    killer = sa.create_engine(settings.effective_database_url)
    real, kills = ranges.write_blobs, []

    def killed_once(chunks: Any, **kwargs: Any) -> Any:
        if not kills:  # the export's reading connection is open now: end it under it
            with killer.connect() as conn:
                kills.append(
                    conn.execute(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
                )
        return real(chunks, **kwargs)

    monkeypatch.setattr(ranges, "write_blobs", killed_once)
    try:
        with opened(settings, export_processes=1) as runtime:
            data.build_dataset(runtime, rows=50)
            operation_id = data.queue_export(runtime)
            Worker(runtime).run(once=True)
            view = operations.read_operation(runtime.db, data.TENANT, operation_id)
            op = view.operation
            assert kills and kills[0] >= 1  # the fault happened
            assert op.status is Status.SUCCEEDED, op.error_message
            assert op.attempts == 2  # the first attempt died with its connection
            with runtime.db.connect() as conn:
                manifest = get_manifest(conn, data.TENANT, op.manifest_id or "")
            assert manifest is not None and manifest.row_count == 50
            assert (
                not (runtime.settings.blob_dir / "_staging").exists()
                or files_under(runtime.settings.blob_dir / "_staging") == []
            )
    finally:
        killer.dispose()
