"""Throughput and backpressure under load, against a bare FastAPI endpoint in the same run.

Starts `billport serve --demo` (SQLite, in-process worker) and a bare FastAPI app under the
same uvicorn, both on loopback, and drives each with wrk (Debian's `wrk` package):

1. at --connections (100) for --duration (30 s) each: the bare endpoint, `GET /healthz`,
   an operation poll and `GET /v1/invoices?size=200`, with each one's requests/s, its ratio
   to the bare endpoint and the errors (socket errors, timeouts, statuses other than 2xx);
2. at --overload (500) connections: `GET /v1/invoices?size=200` again, counting answers
   that are 2xx, 503 (refused by the admission limit, with `Retry-After`) and anything
   else, plus timeouts; meanwhile one client polls `GET /healthz` every 50 ms and reports
   its p50/p99/max latency.

Targets (issue 18 item 3): at 100 connections invoices >= 0.3x, polls >= 0.5x, healthz
>= 0.8x the bare endpoint with 0 errors; at 500 connections 0 timeouts (the excess gets
503 + Retry-After) and `/healthz` p99 < 1 s.

Usage: python bench/bench_load.py [--duration 30] [--connections 100] [--overload 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import BILLING, INVOICE, demo_and_bare, tokens  # noqa: E402

# The throughput runs report wrk's own summary only: a `response` callback makes wrk copy and
# parse every answer's headers and body into Lua ("expensive", wrk's SCRIPTING notes), which
# on this 2-core machine takes CPU from the server — the more so the larger the body (the
# invoice list's ~20 kB against the bare endpoint's 16 bytes), so it skewed the ratios.
# Any status but 2xx/3xx counts as an error there (`errors.status`).
SUMMARY_SCRIPT = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "ok": %d, "busy": 0, "other": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p99_ms": %.1f}\\n',
    summary.requests, summary.duration / 1e6, summary.requests - e.status, e.status,
    e.connect, e.read, e.write, e.timeout, latency:percentile(99) / 1000))
end
"""
# The overload run counts statuses per wrk thread and sums them in `done` (wrk's summary
# lumps every non-2xx/3xx answer together, so a 503 from the admission limit would look
# like a 500).
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; busy = 0; other = 0 end
function response(status, headers, body)
  if status < 300 then ok = ok + 1 elseif status == 503 then busy = busy + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local o, b, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); b = b + t:get("busy"); x = x + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "ok": %d, "busy": %d, "other": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p99_ms": %.1f}\\n',
    summary.requests, summary.duration / 1e6, o, b, x, e.connect, e.read, e.write,
    e.timeout, latency:percentile(99) / 1000))
end
"""


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str], script: Path) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict = json.loads(line.removeprefix("RESULT "))
    result["rate"] = result["requests"] / result["seconds"]
    result["errors"] = sum(result[k] for k in ("other", "connect", "read", "write", "timeout"))
    return result


class HealthProbe(threading.Thread):
    """Polls `/healthz` every 50 ms on its own connection and keeps the latencies."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.latencies, self.failures = url, [], 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stopping.wait(0.05):
                start = time.perf_counter()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - start)
                self.failures += not ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--overload", type=int, default=500)
    args = parser.parse_args()
    with demo_and_bare("billport-load-") as (data, env, base, bare):
        script, summary = data / "count.lua", data / "summary.lua"
        script.write_text(WRK_SCRIPT)
        summary.write_text(SUMMARY_SCRIPT)
        graph, partner_center = tokens(env)
        operation = httpx.post(
            f"{base}{BILLING}/reconciliation/billed/export",
            json={"invoiceId": INVOICE},
            headers=graph,
        ).headers["Location"]
        targets = {
            "bare endpoint": (f"{bare}/bare", {}),
            "GET /healthz": (f"{base}/healthz", {}),
            "operation poll": (operation, graph),
            "GET /v1/invoices?size=200": (f"{base}/v1/invoices?size=200", partner_center),
        }
        results = {
            name: wrk(url, args.connections, args.duration, headers, summary)
            for name, (url, headers) in targets.items()
        }
        probe = HealthProbe(f"{base}/healthz")
        probe.start()
        url, headers = targets["GET /v1/invoices?size=200"]
        overload = wrk(url, args.overload, args.duration, headers, script)
        probe.stopping.set()
        probe.join()
    report(args, results, overload, probe)


def report(args: argparse.Namespace, results: dict, overload: dict, probe: HealthProbe) -> None:
    bare_rate = results["bare endpoint"]["rate"]
    print(f"{args.connections} connections, {args.duration} s each")
    print(f"{'request':<28} {'req/s':>8} {'ratio':>6} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        ratio = r["rate"] / bare_rate
        print(f"{name:<28} {r['rate']:8.0f} {ratio:6.2f}x {r['p99_ms']:8.1f} {r['errors']:7d}")
    print()
    o = overload
    print(f"{args.overload} connections on GET /v1/invoices?size=200, {args.duration} s")
    print(f"  answered 2xx {o['ok']}, 503 busy {o['busy']}, other {o['other']}")
    print(f"  socket errors connect {o['connect']} read {o['read']} write {o['write']}")
    print(f"  timeouts (10 s) {o['timeout']}; 2xx+503 rate {o['rate']:.0f} req/s")
    latencies = sorted(probe.latencies)
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        p50 = statistics.median(latencies)
        print(
            f"  /healthz meanwhile: n={len(latencies)} p50 {p50 * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms, "
            f"failures {probe.failures}"
        )


if __name__ == "__main__":
    main()
