"""Latency of small work, against a bare FastAPI endpoint measured in the same run.

Starts `billport serve --demo` (SQLite, in-process worker) and a bare FastAPI app under the
same uvicorn (access log on for both, as `billport serve` runs), both on loopback, then
measures over one keep-alive connection each:

- sequential throughput (requests/s) of the bare endpoint, `GET /healthz`, an operation
  poll and `GET /v1/invoices?size=200`, with each one's ratio to the bare endpoint;
- `POST` -> `succeeded` of the demo invoice's billed reconciliation export (a few hundred
  rows): fresh (after `POST /_billport/reset`, so the blobs are written again) and with its
  manifest reused, p50 and p90 over --exports runs (the client polls every millisecond so
  that it sees the change, not its own wait);
- `billport export` of the demo invoice end to end against that server;
- CLI start-up: `billport --help` and `billport token`, minus a bare `python -c pass`.

Targets (issue 16): fresh p50 <= 50 ms, reused <= 20 ms; poll and invoices >= 0.5x the bare
endpoint, healthz >= 0.8x; `billport export` <= 1 s; CLI imports <= 0.3 s.

Usage: python bench/bench_latency.py [--requests 400] [--exports 30]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BILLING = "/v1.0/reports/partners/billing"
INVOICE = "G016907411"
BARE_APP = """
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"status": "ok"}


uvicorn.run(app, host="127.0.0.1", port={port}, log_level="info")  # access log on, as billport
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def billport(*args: str, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-m", "billport", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return done.stdout.strip()


@contextmanager
def started(command: list[str], url: str, env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{command} did not answer at {url}")
        yield
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def demo_and_bare(prefix: str) -> Iterator[tuple[Path, dict[str, str], str, str]]:
    """`billport serve --demo` (SQLite, a fresh data dir) and the bare endpoint, both up:
    the data dir, the environment, billport's base URL and the bare app's."""
    data = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "BILLPORT_DATA_DIR": str(data)}
    env.pop("BILLPORT_DATABASE_URL", None)
    port, bare_port = free_port(), free_port()
    base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    serve = [sys.executable, "-m", "billport", "serve", "--demo", "--port", str(port)]
    bare_command = [sys.executable, "-c", BARE_APP.replace("{port}", str(bare_port))]
    with started(serve, f"{base}/healthz", env), started(bare_command, f"{bare}/bare", env):
        yield data, env, base, bare


def tokens(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers with a Graph token and with a Partner Center token of the demo partner."""
    graph = billport("token", env=env)
    partner_center = billport("token", "--audience", "partner-center", env=env)
    return {"Authorization": f"Bearer {graph}"}, {"Authorization": f"Bearer {partner_center}"}


def throughput(client: httpx.Client, request: Callable[[], httpx.Response], n: int) -> float:
    for _ in range(20):  # warm-up
        request()
    start = time.perf_counter()
    for _ in range(n):
        response = request()
        assert response.status_code < 300, response.text
    return n / (time.perf_counter() - start)


def export_once(client: httpx.Client, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    posted = client.post(
        f"{BILLING}/reconciliation/billed/export",
        json={"invoiceId": INVOICE, "attributeSet": "full"},
        headers=headers,
    )
    assert posted.status_code == 202, posted.text
    location = posted.headers["Location"]
    while True:
        body = client.get(location, headers=headers).json()
        if body["status"] == "succeeded":
            return time.perf_counter() - start
        assert body["status"] in {"notStarted", "running"}, body
        time.sleep(0.001)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def cli_start(args: list[str], env: dict[str, str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "billport", *args], env=env, capture_output=True, check=True
        )
        best = min(best, time.perf_counter() - start)
    return best


def python_start(runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--exports", type=int, default=30)
    args = parser.parse_args()
    with demo_and_bare("billport-latency-") as (data, env, base, bare):
        graph, partner_center = tokens(env)
        admin = {"Authorization": f"Bearer {billport('token', '--admin', env=env)}"}
        with (
            httpx.Client(base_url=base, timeout=30) as client,
            httpx.Client(base_url=bare, timeout=30) as bare_client,
        ):
            fresh, reused = [], []
            for _ in range(args.exports):
                client.post("/_billport/reset", headers=admin).raise_for_status()
                fresh.append(export_once(client, graph))
                reused.append(export_once(client, graph))
            operation = client.post(
                f"{BILLING}/reconciliation/billed/export",
                json={"invoiceId": INVOICE},
                headers=graph,
            ).headers["Location"]
            n = args.requests
            rates = {
                "bare endpoint": throughput(bare_client, lambda: bare_client.get("/bare"), n),
                "GET /healthz": throughput(client, lambda: client.get("/healthz"), n),
                "operation poll": throughput(
                    client, lambda: client.get(operation, headers=graph), n
                ),
                "GET /v1/invoices?size=200": throughput(
                    client,
                    lambda: client.get("/v1/invoices?size=200", headers=partner_center),
                    n,
                ),
            }
        out = data / "out.jsonl"
        start = time.perf_counter()
        billport(
            "export", "billed-reconciliation", "--server", base, "--invoice", INVOICE,
            "-o", str(out), "-q", env=env,
        )  # fmt: skip
        cli_export = time.perf_counter() - start
    python = python_start()
    help_start = cli_start(["--help"], env) - python
    token_start = cli_start(["token"], env) - python
    bare_rate = rates["bare endpoint"]
    print(f"{'request':<28} {'req/s':>8} {'ratio':>6}")
    for name, rate in rates.items():
        print(f"{name:<28} {rate:8.0f} {rate / bare_rate:6.2f}x")
    print()
    for name, values in (("export fresh", fresh), ("export reused", reused)):
        p50, p90 = statistics.median(values) * 1000, percentile(values, 0.9) * 1000
        print(f"{name:<28} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  (n={len(values)})")
    print(f"{'billport export (CLI)':<28} {cli_export:6.2f} s")
    print(f"{'billport --help start-up':<28} {help_start:6.2f} s (python itself {python:.2f} s)")
    print(f"{'billport token start-up':<28} {token_start:6.2f} s")


if __name__ == "__main__":
    main()
