"""Memory under sustained mixed traffic: the server's RSS levels off.

Starts `billport serve --demo` (SQLite, in-process worker) and, for --minutes (10), runs
mixed traffic against it: wrk on `GET /v1/invoices?size=200`, on an operation poll and on
`/healthz` (10 connections each), while a client starts a billed reconciliation export
every 2 s and follows it to `succeeded`. The server's resident memory is sampled every
10 s from /proc.

Target (issue 18 item 4): RSS at the end within 10% of its value after the first minute.

Usage: python bench/bench_soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import BILLING, INVOICE, billport, free_port  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_until_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered at {url}")


def exports(base: str, headers: dict[str, str], stopping: threading.Event) -> int:
    done = 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while not stopping.wait(2):
            posted = client.post(
                f"{BILLING}/reconciliation/billed/export",
                json={"invoiceId": INVOICE, "attributeSet": "full"},
            )
            if posted.status_code != 202:
                continue  # refused under load: try again next round
            for _ in range(600):
                status = client.get(posted.headers["Location"]).json().get("status")
                if status in {"succeeded", "failed"}:
                    done += 1
                    break
                time.sleep(0.05)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    seconds = int(args.minutes * 60)
    data = Path(tempfile.mkdtemp(prefix="billport-soak-"))
    env = {**os.environ, "BILLPORT_DATA_DIR": str(data)}
    env.pop("BILLPORT_DATABASE_URL", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [sys.executable, "-m", "billport", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"{base}/healthz")
        graph = {"Authorization": f"Bearer {billport('token', env=env)}"}
        pc = {
            "Authorization": f"Bearer {billport('token', '--audience', 'partner-center', env=env)}"
        }
        operation = httpx.post(
            f"{base}{BILLING}/reconciliation/billed/export",
            json={"invoiceId": INVOICE},
            headers=graph,
        ).headers["Location"]
        loads = [
            (f"{base}/v1/invoices?size=200", pc),
            (operation, graph),
            (f"{base}/healthz", {}),
        ]
        wrks = []
        for url, headers in loads:
            command = ["wrk", "-t1", "-c10", f"-d{seconds}s", "--timeout", "10s", url]
            for name, value in headers.items():
                command[1:1] = ["-H", f"{name}: {value}"]
            wrks.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        stopping = threading.Event()
        counted: list[int] = []
        exporter = threading.Thread(
            target=lambda: counted.append(exports(base, graph, stopping)), daemon=True
        )
        exporter.start()
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            samples.append((elapsed, rss_mib(serve.pid)))
            time.sleep(10)
        samples.append((time.monotonic() - started, rss_mib(serve.pid)))
        stopping.set()
        exporter.join(60)
        for process in wrks:
            process.wait(60)
    finally:
        serve.terminate()
        serve.wait(30)
    report(samples, counted[0] if counted else 0)


def report(samples: list[tuple[float, float]], exports_done: int) -> None:
    for elapsed, rss in samples:
        print(f"{elapsed:7.0f} s  {rss:7.1f} MiB")
    after_minute = next((rss for elapsed, rss in samples if elapsed >= 60), samples[0][1])
    end = samples[-1][1]
    print()
    print(f"exports completed: {exports_done}")
    print(
        f"RSS after 1 min {after_minute:.1f} MiB, at the end {end:.1f} MiB: "
        f"{(end / after_minute - 1) * 100:+.1f}% (target within ±10%)"
    )


if __name__ == "__main__":
    main()
