"""Scale-out benchmark: one partitioned export on PostgreSQL, one versus two worker processes.

Seeds one invoice with N billed-reconciliation rows into a PostgreSQL database
(`billport seed --invoice G900000001 --line-items N`; skipped when already seeded), then,
for 1 and for 2 `billport worker` processes started beforehand and idle (LISTENing):
queues a `full` export of that invoice and times it from the queueing commit to
`succeeded`. Both runs use the same partition plan (`--partition-rows`); exports state and
blobs are cleared before each run so nothing is reused. An untimed export first fills the
caches (else only the first timed run reads the rows from disk), then --repeat timed runs of
each alternate (1, 2, 1, 2, ...); the best of each is compared. Prints the speed-up (target >= 1.7x)
and the CPU time the workers and the PostgreSQL server used during each run (from /proc),
with the average number of cores they kept busy.

Usage: python bench/bench_scaleout.py [--rows 5000000] [--partition-rows 250000] [--repeat 2]
       [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/billport_bench_scaleout]
The database is created if missing and reused between runs (it is the seed cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from billport.billing.datasets import Dataset

INVOICE = "G900000001"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/billport_bench_scaleout"


def ensure_database(url: str) -> None:
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def seeded_rows(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM line_items WHERE dataset = :d AND invoice_id = :i"
                    ),
                    {"d": Dataset.BILLED_RECONCILIATION.code, "i": INVOICE},
                ).scalar_one()
            )
    except sa.exc.ProgrammingError:  # not migrated yet
        return 0
    finally:
        engine.dispose()


def seed(url: str, data_dir: Path, rows: int) -> None:
    if seeded_rows(url) == rows:
        return
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "billport", "seed", "--database-url", url, "--data-dir",
         str(data_dir), "--reset", "--invoice", INVOICE, "--line-items", str(rows)],
        check=True,
    )  # fmt: skip
    print(f"seeded {rows:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE line_items"))  # index-only partition planning
    engine.dispose()


def clear_exports(url: str, data_dir: Path) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in ("export_parts", "export_plans", "manifests", "operations"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()
    shutil.rmtree(data_dir / "blobs", ignore_errors=True)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int] | None = None, command: str | None = None) -> float:
    """CPU time (user + system, all threads) of ``pids`` and their descendants, or of every
    process named ``command`` (the PostgreSQL server's processes), from /proc."""
    stats: dict[int, tuple[int, str, float]] = {}  # pid -> (parent, name, seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK)
    if command is not None:
        return sum(secs for _, name, secs in stats.values() if name == command)
    chosen = set(pids or ())
    grew = True
    while grew:  # add descendants (export processes) until nothing changes
        more = {pid for pid, (parent, _, _) in stats.items() if parent in chosen} - chosen
        chosen |= more
        grew = bool(more)
    return sum(stats[pid][2] for pid in chosen if pid in stats)


def timed_export(url: str, data_dir: Path, workers: int, partition_rows: int) -> dict[str, float]:
    from billport.billing.operations import Status
    from billport.runtime import open_runtime
    from billport.settings import load_settings
    from billport.usecases.operations import read_operation, request_export

    clear_exports(url, data_dir)
    env = dict(os.environ, BILLPORT_DATABASE_URL=url, BILLPORT_DATA_DIR=str(data_dir))
    env["BILLPORT_PARTITION_ROWS"] = str(partition_rows)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "billport", "worker", "--name", f"bench{n}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    settings = load_settings(environ={}, database_url=url, data_dir=data_dir)
    runtime = open_runtime(settings)
    try:
        time.sleep(3)  # workers started and idle
        with runtime.db.connect() as conn:
            tenant = conn.execute(
                sa.text("SELECT tenant_id FROM invoices WHERE invoice_id = :i"), {"i": INVOICE}
            ).scalar_one()
        pids = {proc.pid for proc in procs}
        workers_cpu, server_cpu = cpu_seconds(pids), cpu_seconds(command="postgres")
        started = time.perf_counter()
        op = request_export(
            runtime.db,
            runtime.clock,
            tenant,
            Dataset.BILLED_RECONCILIATION,
            {"invoiceId": INVOICE, "attributeSet": "full"},
        )
        while True:
            view = read_operation(runtime.db, tenant, op.operation_id)
            if view.operation.status in (Status.SUCCEEDED, Status.FAILED):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        workers_cpu = cpu_seconds(pids) - workers_cpu
        server_cpu = cpu_seconds(command="postgres") - server_cpu
        assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
        assert view.manifest is not None
        return {
            "seconds": elapsed,
            "rows": view.manifest.row_count,
            "workers_cpu": workers_cpu,
            "server_cpu": server_cpu,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        runtime.db.dispose()


def cpu_report(run: dict[str, float]) -> dict[str, float]:
    return {
        "workers_s": round(run["workers_cpu"], 2),
        "postgres_s": round(run["server_cpu"], 2),
        "cores_busy": round((run["workers_cpu"] + run["server_cpu"]) / run["seconds"], 2),
    }


def run_report(workers: int, run: dict[str, float]) -> dict[str, object]:
    return {
        "workers": workers,
        "seconds": round(run["seconds"], 2),
        "rows_per_s": round(run["rows"] / run["seconds"]),
        "cpu": cpu_report(run),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--data-dir", type=Path, default=Path("bench/out/scaleout"))
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each, alternating")
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed export that fills the caches"
    )
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_database(args.database_url)
    seed(args.database_url, args.data_dir, args.rows)
    load = os.getloadavg()[0]
    if not args.no_warmup:  # else the first run alone reads the rows from disk
        timed_export(args.database_url, args.data_dir, 2, args.partition_rows)
    timed = [
        (workers, timed_export(args.database_url, args.data_dir, workers, args.partition_rows))
        for _ in range(args.repeat)
        for workers in (1, 2)
    ]
    one, two = (min((r for w, r in timed if w == n), key=lambda r: r["seconds"]) for n in (1, 2))
    report = {
        "rows": int(one["rows"]),
        "partition_rows": args.partition_rows,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(load, 2),
        "warmup": not args.no_warmup,
        "runs": [run_report(workers, run) for workers, run in timed],
        "one_worker_seconds": round(one["seconds"], 2),  # best of --repeat
        "one_worker_rows_per_s": round(one["rows"] / one["seconds"]),
        "two_workers_seconds": round(two["seconds"], 2),
        "two_workers_rows_per_s": round(two["rows"] / two["seconds"]),
        "speedup": round(one["seconds"] / two["seconds"], 2),
        # CPU seconds of the worker processes and of every PostgreSQL server process, and
        # the cores they kept busy on average: with C cores, N workers cannot beat
        # C / cores_busy(1 worker) times one worker, whatever the code does.
        "one_worker_cpu": cpu_report(one),
        "two_workers_cpu": cpu_report(two),
        "target_speedup": 1.7,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
