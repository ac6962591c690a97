"""kill -9 a `billport serve` (with its in-process worker) mid-export, on SQLite and PostgreSQL.

The export is caught writing (staging files exist), the server is killed with SIGKILL, and
a new server on the same store takes the export over once its lease expires: it succeeds
with every row exactly once, and nothing stays staged.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from billport.settings import Settings
from tests.support import exports as data
from tests.support.blob_checks import leftovers
from tests.support.factory import opened
from tests.support.processes import manifest_lines, process_env, processes

pytestmark = pytest.mark.slow
ROWS = 1_500
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_server_killed_mid_export_loses_no_row(settings: Settings, tmp_path: Path) -> None:
    knobs = dict(lease_seconds=2, blob_rows=1, export_processes=1)  # a blob per row: slow
    env = process_env(settings.effective_database_url, settings.data_dir, **knobs)
    with (
        opened(settings, now="", **knobs) as runtime,  # the servers' clock: leases expire
        processes(tmp_path, env) as procs,
        httpx.Client(timeout=30) as client,
    ):
        data.build_dataset(runtime, rows=ROWS)
        headers = data.graph_headers(runtime)
        first = procs.serve("serve-1", worker=True)
        posted = client.post(first + EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
        assert posted.status_code == 202, posted.text
        path = posted.headers["Location"].removeprefix(first)
        wait_for(lambda: len(leftovers(runtime.blobs)) >= 20, 60, "the export to be writing")
        killed = procs.started[0]
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        staged = len(leftovers(runtime.blobs))

        second = procs.serve("serve-2", worker=True)
        body: dict = {}

        def finished() -> bool:
            nonlocal body
            body = client.get(second + path, headers=headers).json()
            return body["status"] in {"succeeded", "failed"}

        wait_for(finished, 120, "the export to be taken over")
        assert body["status"] == "succeeded", body
        lines = manifest_lines(client, body["resourceLocation"])
        assert len(lines) == ROWS == len(set(lines))  # every row, once
        assert staged > 0 and leftovers(runtime.blobs) == []  # the takeover cleaned up
        assert "Traceback" not in procs.log("serve-2")
