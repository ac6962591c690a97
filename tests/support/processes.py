"""Real billport processes for acceptance tests: start, wait until ready, stop by pid.

Every process binds 127.0.0.1, logs to a file under the test's tmp dir, and is stopped by
its own pid in a ``finally`` (SIGTERM, then SIGKILL after a bounded wait).

The blob backend is a test parameter (the ``blob_backend`` fixture): its settings overrides
reach every process as ``BILLPORT_*`` variables, so all of them share one local directory
or one Azurite container.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.store.tables import line_items
from tests.support.exports import line_values, render


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    """The environment of every process of one test: same database, data dir and blobs."""
    env = dict(os.environ)
    env.update(
        BILLPORT_DATABASE_URL=database_url,
        BILLPORT_DATA_DIR=str(data_dir),
        BILLPORT_BLOB_BACKEND="local",
    )
    env.update({f"BILLPORT_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Processes:
    """The processes one test started; :meth:`stop_all` ends exactly those."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir, self.env = log_dir, env
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "billport", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.started.append(proc)
        return proc

    def serve(self, name: str, *, worker: bool = False) -> str:
        """A ``serve --no-worker`` process (``worker``: with its in-process worker); returns
        its base URL once it answers."""
        port = free_port()
        mode = "--worker" if worker else "--no-worker"
        proc = self.start(name, "serve", mode, "--host", "127.0.0.1", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start: {self.log(name)}")

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.started:
            self.stop(proc)


@contextmanager
def processes(log_dir: Path, env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(log_dir, env)
    try:
        yield started
    finally:
        started.stop_all()


def bulk_lines(conn: sa.Connection, tenant: str, invoice: str, count: int) -> None:
    """``count`` distinct billed-reconciliation rows, rendered by PostgreSQL from one template.

    Fast enough for a 100k-row acceptance test; each document differs (``SkuName``).
    """
    dataset = Dataset.BILLED_RECONCILIATION
    values = line_values(dataset, tenant, 0, "USD", invoice)
    values["SkuName"] = "sku-@N@"
    full = render(dataset, AttributeSet.FULL, values).decode()
    basic = render(dataset, AttributeSet.BASIC, values).decode()
    conn.execute(
        sa.text(
            f"INSERT INTO {line_items.name} (tenant_id, dataset, invoice_id, billing_month, "
            "currency, customer_id, charge_type, total, rev, doc_full, doc_basic) "
            "SELECT :tenant, :dataset, :invoice, 202610, 'USD', 'cust-0', 'New', '1.000000', 0, "
            "convert_to(replace(:full, '@N@', g::text), 'UTF8'), "
            "convert_to(replace(:basic, '@N@', g::text), 'UTF8') "
            "FROM generate_series(1, :count) AS g"
        ),
        dict(
            tenant=tenant,
            dataset=dataset.code,
            invoice=invoice,
            full=full,
            basic=basic,
            count=count,
        ),
    )


def manifest_lines(client: httpx.Client, manifest: dict[str, Any]) -> list[bytes]:
    """Every line of every blob of a Graph manifest, downloaded with its SAS token."""
    lines: list[bytes] = []
    for blob in manifest["blobs"]:
        url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
        response = client.get(url)
        assert response.status_code == 200, response.text
        lines += gzip.decompress(response.content).split(b"\n")[:-1]
    return lines
