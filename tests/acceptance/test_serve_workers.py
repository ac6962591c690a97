"""`billport serve --workers 2` on SQLite and PostgreSQL: one port, two processes.

Exports posted at once all succeed, each leased once (one attempt, one manifest whose
row count is the store's) although both processes run an in-process worker; a child
killed with SIGKILL is replaced while the other keeps serving; SIGTERM stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from billport.settings import Settings
from billport.store.tables import operations
from tests.support import exports as data
from tests.support.factory import opened
from tests.support.processes import free_port, process_env, processes

pytestmark = pytest.mark.slow
BILLING = "/v1.0/reports/partners/billing"
EXPORTS = [
    ("reconciliation/billed/export", {"invoiceId": data.MODERN, "attributeSet": "full"}),
    ("reconciliation/billed/export", {"invoiceId": data.MODERN, "attributeSet": "basic"}),
    ("usage/billed/export", {"invoiceId": data.MODERN, "attributeSet": "full"}),
    ("usage/billed/export", {"invoiceId": data.MODERN, "attributeSet": "basic"}),
]
CLOSE = {"Connection": "close"}  # no keep-alive pinning the client to one process


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def wait_for(condition, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, headers=CLOSE, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_two_server_processes_share_a_port_and_the_exports(
    settings: Settings, tmp_path: Path
) -> None:
    data_dir = settings.data_dir
    env = process_env(settings.effective_database_url, data_dir, lease_seconds=5, now=settings.now)
    with opened(settings) as runtime, processes(tmp_path, env) as procs:
        data.build_dataset(runtime, rows=40)
        headers = {**data.graph_headers(runtime), **CLOSE}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        parent = procs.start("serve", "serve", "--workers", "2", "--port", str(port))
        wait_for(lambda: answers(f"{base}/healthz") and len(children(parent.pid)) == 2)

        def export(job: tuple[str, dict[str, str]]) -> str:
            path, body = job
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                posted = client.post(f"{BILLING}/{path}", json=body)
                assert posted.status_code == 202, posted.text
                for _ in range(300):
                    status = client.get(posted.headers["Location"]).json()["status"]
                    if status in {"succeeded", "failed"}:
                        return str(status)
                    time.sleep(0.1)
            raise AssertionError(f"{path} did not finish")

        with ThreadPoolExecutor(len(EXPORTS)) as pool:
            assert list(pool.map(export, EXPORTS)) == ["succeeded"] * len(EXPORTS)
        with runtime.db.connect() as conn:
            attempts = conn.execute(sa.select(operations.c.attempts)).scalars().all()
        assert len(attempts) == len(EXPORTS)
        assert set(attempts) == {1}  # no export was run by both processes

        first, second = sorted(children(parent.pid))
        os.kill(first, signal.SIGKILL)
        assert answers(f"{base}/healthz")  # the other process goes on serving
        wait_for(
            lambda: len(children(parent.pid) - {second}) == 1 and first not in children(parent.pid)
        )
        wait_for(lambda: answers(f"{base}/healthz"))

        survivors = children(parent.pid)
        parent.send_signal(signal.SIGTERM)
        try:
            code = parent.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError(procs.log("serve")) from None
        assert code == 0, procs.log("serve")
        for pid in survivors:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text()
            )
        log = procs.log("serve")
        assert "starting another" in log
        assert "Traceback" not in log
