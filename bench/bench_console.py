"""Console pages over a large store, against a bare FastAPI endpoint measured in the same run.

Seeds the demo dataset into a fresh SQLite data dir (`billport seed --demo`), then inserts
100k operations (a quarter of them succeeded with a manifest) and 100k request-log rows
straight through SQLAlchemy Core, starts `billport serve --no-worker` and a bare FastAPI app
under the same uvicorn, signs in to the console through its form, and times over one
keep-alive connection each (p50 and p90 of --runs GETs, after a warm-up):

- the Exports page (first page, and the last page: the deepest OFFSET) and its live rows;
- the Requests page (request log page, compliance over the newest 2,000 calls, timeline);
- the Overview (counts over every table) and the bare endpoint, with each one's ratio.

Target (issue 17): a page with 100k operations in the store renders in under a second.

Usage: python bench/bench_console.py [--operations 100000] [--requests 100000] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import BARE_APP, free_port, percentile, started  # noqa: E402

from billport.billing.datasets import Dataset  # noqa: E402
from billport.seed.demo import DEMO_TENANT  # noqa: E402
from billport.settings import load_settings  # noqa: E402
from billport.store.db import Database  # noqa: E402
from billport.store.manifests import ExportBlob, encode_manifest_blobs  # noqa: E402
from billport.store.tables import manifests, operations, request_log  # noqa: E402

CONSOLE = "/_billport/console"
BATCH = 10_000


def seed(env: dict[str, str], n_operations: int, n_requests: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "billport", "seed", "--demo"], env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    db = Database.from_settings(load_settings(environ=env))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    manifest_id = str(uuid.uuid4())
    with db.begin() as conn:
        conn.execute(
            manifests.insert().values(
                manifest_id=manifest_id, tenant_id=DEMO_TENANT,
                dataset=Dataset.BILLED_RECONCILIATION.code, scope_key="bench", fingerprint="0",
                etag="0", schema_version="2", data_format="compressedJSON",
                partition_type="default", root_path="bench", row_count=283, size_bytes=9000,
                created_at=start,
                blobs=encode_manifest_blobs([ExportBlob("part-00000-x.c000.json.gz", 283, 9000)]),
            )
        )  # fmt: skip
        statuses = ("succeeded", "failed", "running", "notStarted")
        for low in range(0, n_operations, BATCH):
            rows = []
            for i in range(low, min(low + BATCH, n_operations)):
                status = statuses[i % 4]
                created = start + timedelta(seconds=i)
                rows.append(
                    {
                        "operation_id": str(uuid.uuid4()), "tenant_id": DEMO_TENANT,
                        "dataset": Dataset.BILLED_RECONCILIATION.code, "invoice_id": "G016907411",
                        "attribute_set": "full", "status": status,
                        "manifest_id": manifest_id if status == "succeeded" else None,
                        "error_code": "5000" if status == "failed" else None,
                        "error_message": "No data available" if status == "failed" else None,
                        "created_at": created, "last_action_at": created + timedelta(seconds=2),
                    }
                )  # fmt: skip
            conn.execute(operations.insert(), rows)
        for low in range(0, n_requests, BATCH):
            calls = []
            for i in range(low, min(low + BATCH, n_requests)):
                at = start + timedelta(milliseconds=300 * i)
                calls.append(
                    {
                        "received_at": at, "answered_at": at + timedelta(milliseconds=5),
                        "client": f"client-{i % 7}", "tenant_id": DEMO_TENANT, "method": "GET",
                        "path": f"/v1.0/reports/partners/billing/operations/{i % 500}",
                        "status": 200, "latency_ms": 5, "delay_ms": 0, "fault": None,
                        "retry_after": 1 if i % 3 else None, "request_id": str(uuid.uuid4()),
                        "verified": True,
                    }
                )  # fmt: skip
            conn.execute(request_log.insert(), calls)
    db.dispose()


def sign_in(client: httpx.Client, admin_token: str) -> None:
    form = client.get(f"{CONSOLE}/login")
    login_token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert login_token is not None
    signed = client.post(
        f"{CONSOLE}/login",
        data={"login_token": login_token.group(1), "token": admin_token},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )
    assert signed.status_code == 303, signed.text


def timed(client: httpx.Client, path: str, runs: int) -> tuple[float, float]:
    for _ in range(3):  # warm-up
        warm = client.get(path)
        assert warm.status_code == 200, (warm.status_code, warm.text[:500])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return percentile(times, 0.5), percentile(times, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="billport-console-"))
    env = {**os.environ, "BILLPORT_DATA_DIR": str(data),
           "BILLPORT_REQUEST_LOG_SIZE": str(args.requests * 2)}  # fmt: skip
    env.pop("BILLPORT_DATABASE_URL", None)
    began = time.perf_counter()
    seed(env, args.operations, args.requests)
    print(f"seeded {args.operations:,} operations, {args.requests:,} requests "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    admin_token = subprocess.run(
        [sys.executable, "-m", "billport", "token", "--admin"], env=env, check=True,
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    port, bare_port = free_port(), free_port()
    base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    serve = [sys.executable, "-m", "billport", "serve", "--no-worker", "--port", str(port)]
    bare_command = [sys.executable, "-c", BARE_APP.replace("{port}", str(bare_port))]
    last = (args.operations - 1) // 50 * 50
    with (
        started(serve, f"{base}/healthz", env),
        started(bare_command, f"{bare}/bare", env),
        httpx.Client(base_url=base, timeout=60) as client,
        httpx.Client(base_url=bare, timeout=60) as bare_client,
    ):
        sign_in(client, admin_token)
        bare_p50, bare_p90 = timed(bare_client, "/bare", args.runs)
        pages = {
            "Exports, first page": f"{CONSOLE}/exports",
            "Exports, last page": f"{CONSOLE}/exports?offset={last}",
            "Exports, live rows": f"{CONSOLE}/exports/rows",
            "Exports, status=failed": f"{CONSOLE}/exports?status=failed",
            "Requests": f"{CONSOLE}/requests",
            "Requests, last page": f"{CONSOLE}/requests?offset={(args.requests - 1) // 50 * 50}",
            "Overview": CONSOLE,
        }
        print(f"{'GET':<26}{'p50 ms':>9}{'p90 ms':>9}{'x bare p50':>12}")
        print(f"{'bare endpoint':<26}{bare_p50:>9.1f}{bare_p90:>9.1f}{1:>12.1f}")
        for name, path in pages.items():
            p50, p90 = timed(client, path, args.runs)
            print(f"{name:<26}{p50:>9.1f}{p90:>9.1f}{p50 / bare_p50:>12.1f}")


if __name__ == "__main__":
    main()
