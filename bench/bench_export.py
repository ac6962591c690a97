"""Export benchmark: a `full` billed-reconciliation export of N rows on the embedded default.

Measured in one run, on the same rows:
- billport: POST -> polled until `succeeded` (in-process worker, SQLite + local blobs),
  in a fresh process so its peak RSS is the export's own;
- the ceiling: the identical uncompressed JSON-lines bytes compressed with the same gzip
  (ISA-L level 1, one thread, streaming);
- DuckDB: `COPY (SELECT * FROM rows) TO 'out.json.gz' (FORMAT JSON, COMPRESSION gzip)` over
  the same rows loaded into a DuckDB table (the load is not timed).

Usage: python bench/bench_export.py [--rows 1000000] [--duckdb-rows 200000] [--data-dir D]
Targets: >= 0.5x the ceiling, >= 5x DuckDB, peak RSS <= 300 MB.
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
import time
from pathlib import Path

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


def export_phase(data_dir: Path) -> dict[str, float | int | str]:
    """Runs in its own process: the server app with its worker, one export, polled."""
    from fastapi.testclient import TestClient

    from billport.auth.issuer import GRAPH_AUDIENCE, token_for_tenant
    from billport.server.app import create_app, open_services
    from billport.settings import load_settings

    settings = load_settings(data_dir=data_dir, worker_poll_seconds=0.05)
    services = open_services(settings)
    token = token_for_tenant(services.db, services.keys, settings, audience=GRAPH_AUDIENCE)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, services=services)) as client:
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
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    assert op["status"] == "succeeded", op
    manifest = op["resourceLocation"]
    with services.db.connect() as conn:
        from billport.store.manifests import get_manifest

        stored = get_manifest(conn, manifest["partnerTenantId"], manifest["id"])
    assert stored is not None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": elapsed,
        "rows": stored.row_count,
        "bytes": stored.size_bytes,
        "root": stored.root_path,
        "blobs": json.dumps([b["name"] for b in stored.blobs]),
        "peak_rss_mb": peak_mb,
    }


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
    from isal import isal_zlib

    started = time.perf_counter()
    compressor = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)
    with open(source, "rb") as handle, open(os.devnull, "wb") as sink:
        while chunk := handle.read(CHUNK):
            sink.write(compressor.compress(chunk))
        sink.write(compressor.flush())
    return time.perf_counter() - started


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
    parser.add_argument("--phase", choices=["all", "export"], default="all")
    args = parser.parse_args()
    if args.phase == "export":
        print(json.dumps(export_phase(args.data_dir)))
        return
    seed(args.data_dir, args.rows)
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", "export", "--data-dir", str(args.data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = int(result["rows"])
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        raw = work / "export.jsonl"
        raw_bytes = uncompressed_copy(args.data_dir, result, raw)
        ceiling_s = ceiling(raw)
        duck_s, duck_rows = duckdb_rate(raw, min(args.duckdb_rows, rows), work)
    billport_rate = rows / float(result["seconds"])
    ceiling_rate = rows / ceiling_s
    duck_rate = duck_rows / duck_s
    report = {
        "rows": rows,
        "uncompressed_mb": round(raw_bytes / 1e6, 1),
        "compressed_mb": round(int(result["bytes"]) / 1e6, 1),
        "billport_seconds": round(float(result["seconds"]), 2),
        "billport_rows_per_s": round(billport_rate),
        "ceiling_rows_per_s": round(ceiling_rate),
        "duckdb_rows_per_s": round(duck_rate),
        "ratio_vs_ceiling": round(billport_rate / ceiling_rate, 2),
        "ratio_vs_duckdb": round(billport_rate / duck_rate, 1),
        "peak_rss_mb": round(float(result["peak_rss_mb"])),
        "targets": {"ratio_vs_ceiling": 0.5, "ratio_vs_duckdb": 5, "peak_rss_mb": 300},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
