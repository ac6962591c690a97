"""Export benchmark: a `full` billed-reconciliation export of N rows on the embedded default.

Measured in one run, on the same rows:
- billport: POST -> polled until `succeeded` (in-process worker, SQLite + local blobs),
  in a fresh process so its peak RSS is the export's own (the first export of a fresh
  worker, then the same export again with the worker warm), once with
  BILLPORT_EXPORT_PROCESSES=1 (the in-process writer) and once with --processes export
  processes (default 2; billport's own default, half the cores, is printed too);
  peak RSS is reported for the exporting process alone and for it plus its children
  (sampled every 20 ms over the whole process tree);
- the ceiling: the identical uncompressed JSON-lines bytes compressed with the same gzip
  (ISA-L level 1, one thread, streaming in 8 MiB chunks; only the compressor calls are
  timed, not reading the bytes back);
- DuckDB: `COPY (SELECT * FROM rows) TO 'out.json.gz' (FORMAT JSON, COMPRESSION gzip)` over
  the same rows loaded into a DuckDB table (the load is not timed).

Usage: python bench/bench_export.py [--rows 1000000] [--duckdb-rows 200000] [--data-dir D]
       [--processes N]
Targets: >= 0.5x the ceiling, >= 5x DuckDB, peak RSS <= 300 MB. The 1-minute load average
(other work on the machine) is printed with every run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

INVOICE = "G900000001"
CHUNK = 8 << 20


def seed(data_dir: Path, rows: int) -> None:
    marker = data_dir / f"bench-seeded-{rows}"
    if marker.exists():
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "billport",
            "seed",
            "--data-dir",
            str(data_dir),
            "--invoice",
            INVOICE,
            "--line-items",
            str(rows),
        ],
        check=True,
    )
    print(
        f"seeded {rows:,} rows per billed dataset in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    marker.touch()


def _kb(path: str, field: str) -> int:
    with open(path) as handle:
        return next((int(line.split()[1]) for line in handle if line.startswith(field)), 0)


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """``(RSS, PSS)`` of ``pid`` and all its descendants (Linux /proc), in KiB.

    The RSS sum counts pages shared between processes once per process; PSS splits each
    shared page between the processes that map it.
    """
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            rss += _kb(f"/proc/{current}/status", "VmRSS:")
            pss += _kb(f"/proc/{current}/smaps_rollup", "Pss:")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
    return rss, pss


class TreeSampler(threading.Thread):
    """Peak memory of this process plus its children (export processes, resource tracker)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_rss_kb = self.peak_pss_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            rss, pss = tree_memory_kb(os.getpid())
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)


def clear_exports(data_dir: Path) -> None:
    """Forget earlier exports so the run writes everything (no manifest reuse)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{data_dir / 'billport.db'}")
    with engine.begin() as conn:
        for table in ("export_parts", "export_plans", "manifests", "operations"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()
    shutil.rmtree(data_dir / "blobs", ignore_errors=True)


def export_phase(data_dir: Path, processes: int) -> dict[str, float | int | str]:
    """Runs in its own process: the server app with its worker, two exports, polled."""
    from fastapi.testclient import TestClient

    from billport.auth.issuer import GRAPH_AUDIENCE, token_for_tenant
    from billport.server.app import create_app, open_runtime
    from billport.settings import load_settings

    clear_exports(data_dir)
    overrides = {"export_processes": processes} if processes else {}
    settings = load_settings(
        data_dir=data_dir,
        worker_poll_seconds=0.05,
        allowed_hosts="testserver",  # TestClient's Host (the allow-list refuses unknown ones)
        **overrides,
    )
    runtime = open_runtime(settings)
    sampler = TreeSampler()
    sampler.start()
    load = os.getloadavg()[0]
    token = token_for_tenant(runtime.db, runtime.keys, settings, audience=GRAPH_AUDIENCE)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, runtime=runtime)) as client:
        # The first export of a fresh worker starts its export processes; the second one,
        # after forgetting the first (no manifest reuse), finds them running.
        cold, _ = timed_export(client, headers)
        clear_exports(data_dir)
        warm, op = timed_export(client, headers)
    sampler.done.set()
    sampler.join()
    assert op["status"] == "succeeded", op
    manifest = op["resourceLocation"]
    with runtime.db.connect() as conn:
        from billport.store.manifests import get_manifest

        stored = get_manifest(conn, manifest["partnerTenantId"], manifest["id"])
    assert stored is not None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "processes": settings.export_processes,
        "load_1min_at_start": load,
        "tree_peak_rss_mb": sampler.peak_rss_kb / 1024,
        "tree_peak_pss_mb": sampler.peak_pss_kb / 1024,
        "seconds": cold,
        "warm_seconds": warm,
        "rows": stored.row_count,
        "bytes": stored.size_bytes,
        "root": stored.root_path,
        "blobs": json.dumps([b.name for b in stored.blobs]),
        "peak_rss_mb": peak_mb,
    }


def timed_export(client: Any, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Seconds from the export's POST to the poll that sees it end, and the operation."""
    started = time.perf_counter()
    response = client.post(
        "/v1.0/reports/partners/billing/reconciliation/billed/export",
        json={"invoiceId": INVOICE, "attributeSet": "full"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    for _ in range(100_000):
        op = client.get(location, headers=headers).json()
        if op["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.01)  # fine enough for 30k rows; tighter polling steals the GIL from the export
    return time.perf_counter() - started, op


def uncompressed_copy(data_dir: Path, result: dict, target: Path) -> int:
    """The export's own output, decompressed: the identical bytes for the baselines."""
    size = 0
    with open(target, "wb") as out:
        for name in json.loads(str(result["blobs"])):
            with gzip.open(data_dir / "blobs" / str(result["root"]) / name, "rb") as part:
                while chunk := part.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
    return size


def ceiling(source: Path) -> float:
    """Seconds spent in the compressor alone: reading the copy back is not counted (at 5M
    rows its 7.8 GB do not stay in the page cache, and the disk would set the pace)."""
    from isal import isal_zlib

    spent = 0.0
    compressor = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)
    with open(source, "rb") as handle, open(os.devnull, "wb") as sink:
        while chunk := handle.read(CHUNK):
            started = time.perf_counter()
            sink.write(compressor.compress(chunk))
            spent += time.perf_counter() - started
        started = time.perf_counter()
        sink.write(compressor.flush())
        spent += time.perf_counter() - started
    return spent


def duckdb_rate(source: Path, rows: int, work: Path) -> tuple[float, int]:
    import duckdb

    subset = work / "duck-input.jsonl"
    with open(source, "rb") as handle, open(subset, "wb") as out:
        for count, line in enumerate(handle):
            if count >= rows:
                break
            out.write(line)
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE rows AS SELECT * FROM read_json_auto('{subset}', "
        "format='newline_delimited', sample_size=-1)"
    )
    loaded = con.execute("SELECT count(*) FROM rows").fetchone()[0]
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM rows) TO '{work / 'duck.json.gz'}' (FORMAT JSON, COMPRESSION gzip)"
    )
    return time.perf_counter() - started, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duckdb-rows", type=int, default=200_000)
    parser.add_argument("--data-dir", type=Path, default=Path("bench/out/export"))
    parser.add_argument(
        "--processes", type=int, default=2, help="export processes of the second phase (0: default)"
    )
    parser.add_argument("--phase", choices=["all", "export"], default="all")
    args = parser.parse_args()
    if args.phase == "export":
        print(json.dumps(export_phase(args.data_dir, args.processes)))
        return
    seed(args.data_dir, args.rows)
    in_process = run_export(args.data_dir, 1)
    result = run_export(args.data_dir, args.processes)  # last: its blobs feed the baselines
    rows = int(result["rows"])
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        raw = work / "export.jsonl"
        raw_bytes = uncompressed_copy(args.data_dir, result, raw)
        ceiling_s = ceiling(raw)
        duck_s, duck_rows = duckdb_rate(raw, min(args.duckdb_rows, rows), work)
    billport_rate = rows / float(result["seconds"])
    warm_rate = rows / float(result["warm_seconds"])
    in_process_rate = rows / float(in_process["seconds"])
    ceiling_rate = rows / ceiling_s
    duck_rate = duck_rows / duck_s
    report = {
        "rows": rows,
        "uncompressed_mb": round(raw_bytes / 1e6, 1),
        "compressed_mb": round(int(result["bytes"]) / 1e6, 1),
        "export_processes": result["processes"],
        "default_export_processes": default_export_processes(),
        "load_1min_at_start": round(float(result["load_1min_at_start"]), 2),
        "billport_seconds": round(float(result["seconds"]), 2),
        "billport_rows_per_s": round(billport_rate),
        "warm": {
            "seconds": round(float(result["warm_seconds"]), 2),
            "rows_per_s": round(warm_rate),
            "ratio_vs_ceiling": round(warm_rate / ceiling_rate, 2),
            "ratio_vs_duckdb": round(warm_rate / duck_rate, 1),
        },
        "in_process": {
            "load_1min_at_start": round(float(in_process["load_1min_at_start"]), 2),
            "seconds": round(float(in_process["seconds"]), 2),
            "rows_per_s": round(in_process_rate),
            "ratio_vs_ceiling": round(in_process_rate / ceiling_rate, 2),
            "warm_seconds": round(float(in_process["warm_seconds"]), 2),
            "peak_rss_mb": round(float(in_process["peak_rss_mb"])),
            "peak_rss_with_children_mb": round(float(in_process["tree_peak_rss_mb"])),
        },
        "speedup_vs_in_process": round(billport_rate / in_process_rate, 2),
        "ceiling_rows_per_s": round(ceiling_rate),
        "duckdb_rows_per_s": round(duck_rate),
        "ratio_vs_ceiling": round(billport_rate / ceiling_rate, 2),
        "ratio_vs_duckdb": round(billport_rate / duck_rate, 1),
        "peak_rss_mb": round(float(result["peak_rss_mb"])),
        "peak_rss_with_children_mb": round(float(result["tree_peak_rss_mb"])),
        "peak_pss_with_children_mb": round(float(result["tree_peak_pss_mb"])),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
        "targets": {"ratio_vs_ceiling": 0.5, "ratio_vs_duckdb": 5, "peak_rss_mb": 300},
    }
    print(json.dumps(report, indent=2))


def default_export_processes() -> int:
    from billport.settings import default_export_processes as default

    return default()


def run_export(data_dir: Path, processes: int) -> dict[str, float | int | str]:
    """The export phase in a fresh process (its peak RSS is the export's own)."""
    command = [sys.executable, __file__, "--phase", "export", "--data-dir", str(data_dir)]
    proc = subprocess.run(
        [*command, "--processes", str(processes)], check=True, capture_output=True, text=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
