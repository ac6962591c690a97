"""Real processes: ``billport serve --demo`` + ``billport export`` out of the box, and an
``import billport.client`` in a fresh interpreter that loads nothing of the server side."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SERVER_SIDE = (
    "fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "psycopg", "msal",
    "pyarrow", "duckdb",
    "billport.server", "billport.store", "billport.runtime", "billport.jobs",
    "billport.exports", "billport.seed", "billport.usecases", "billport.auth",
    "billport.blobs", "billport.settings", "billport.cli", "billport.outputs",
)  # fmt: skip


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BILLPORT_")}
    clean["PYTHONPATH"] = str(ROOT) + os.pathsep + clean.get("PYTHONPATH", "")
    return clean


def test_client_imports_nothing_server_side() -> None:
    code = "import sys, json, billport.client; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    assert "billport.client" in loaded and "httpx" in loaded
    bad = [m for m in loaded if any(m == s or m.startswith(s + ".") for s in SERVER_SIDE)]
    assert bad == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    data_dir = tmp_path / "billport-data"
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "billport", "serve", "--demo", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=env(), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "serve.log").read_text())
            time.sleep(0.2)
        yield url, tmp_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_export_out_of_the_box_against_serve_demo(demo_server: tuple[str, Path]) -> None:
    import pyarrow.parquet as pq

    url, workdir = demo_server
    # run where the server's ./billport-data is, with the default --data-dir
    command = [sys.executable, "-m", "billport", "export", "billed-reconciliation",
               "--invoice", "G016907411", "--output", "out.parquet", "--server", url]  # fmt: skip
    done = subprocess.run(
        command, env=env(), cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(workdir / "out.parquet")
    assert f"{table.num_rows} rows -> out.parquet" in done.stdout
    assert table.num_rows > 200  # the demo invoice has a few hundred lines
    assert set(table.column("InvoiceNumber").to_pylist()) == {"G016907411"}
    assert str(table.schema.field("Total").type).startswith("decimal")
    assert sorted(p.name for p in workdir.iterdir() if "billport-" in p.name) == ["billport-data"]
