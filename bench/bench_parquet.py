"""Parquet conversion benchmark: a downloaded N-row export -> one Parquet file.

Measured in one run, on the same downloaded parts (the gzip JSON-lines blobs of a real
`full` billed-reconciliation export, copied out of the blob store as a client downloads them):

- billport: `billport.outputs.write_output(parts, ..., output=out.parquet)`;
- the baseline: `pyarrow.json.read_json` of each part with the *same* explicit schema, then
  `pyarrow.parquet` writing the same row groups and compression — what a careful script does
  when it already knows the schema;
- for information: `read_json` alone (no Parquet writing).

Each variant runs in a fresh process (so its peak RSS is its own), alternately, `--repeat`
times; the best time of each counts.

Usage: python bench/bench_parquet.py [--rows 1000000] [--repeat 2] [--data-dir D]
Target: billport >= 0.7x the baseline's speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INVOICE = "G900000002"


def seed(data_dir: Path, rows: int) -> None:
    marker = data_dir / f"bench-seeded-{rows}"
    if marker.exists():
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "billport", "seed", "--data-dir", str(data_dir),
         "--invoice", INVOICE, "--line-items", str(rows)],
        check=True,
    )  # fmt: skip
    print(f"seeded {rows:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    marker.touch()


def export_parts(data_dir: Path, target: Path) -> int:
    """Run the export through the API and its worker; copy the blobs out as downloaded parts."""
    from fastapi.testclient import TestClient

    from billport.auth.issuer import GRAPH_AUDIENCE, token_for_tenant
    from billport.runtime import open_runtime
    from billport.server.app import create_app
    from billport.settings import load_settings
    from billport.store.manifests import get_manifest

    settings = load_settings(
        data_dir=data_dir, worker_poll_seconds=0.05, allowed_hosts="testserver"
    )
    runtime = open_runtime(settings)
    token = token_for_tenant(runtime.db, runtime.keys, settings, audience=GRAPH_AUDIENCE)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, runtime=runtime)) as client:
        response = client.post(
            "/v1.0/reports/partners/billing/reconciliation/billed/export",
            json={"invoiceId": INVOICE, "attributeSet": "full"},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        for _ in range(100_000):
            op = client.get(response.headers["Location"], headers=headers).json()
            if op["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
    assert op["status"] == "succeeded", op
    manifest = op["resourceLocation"]
    with runtime.db.connect() as conn:
        stored = get_manifest(conn, manifest["partnerTenantId"], manifest["id"])
    assert stored is not None
    target.mkdir(parents=True, exist_ok=True)
    for blob in stored.blobs:
        shutil.copyfile(data_dir / "blobs" / stored.root_path / blob.name, target / blob.name)
    runtime.db.dispose()
    return int(stored.row_count)


def run_billport(parts: list[Path], out: Path) -> int:
    from billport.billing.datasets import AttributeSet, Dataset
    from billport.outputs import write_output

    result = write_output(
        parts,
        dataset=Dataset.BILLED_RECONCILIATION,
        attribute_set=AttributeSet.FULL,
        output=out,
    )
    return result.rows


def run_baseline(parts: list[Path], out: Path, write: bool) -> int:
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    from billport.billing.datasets import AttributeSet, Dataset
    from billport.outputs.arrow import DEFAULT_SCALE, schema_for
    from billport.outputs.parquet import COMPRESSION, ROW_GROUP_ROWS
    from billport.outputs.rows import columns_for

    schema = schema_for(
        columns_for(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL), DEFAULT_SCALE
    )
    options = pj.ParseOptions(explicit_schema=schema)
    rows = 0
    writer = pq.ParquetWriter(str(out), schema, compression=COMPRESSION) if write else None
    for path in parts:
        with pa.input_stream(str(path), compression="gzip") as stream:
            table = pj.read_json(stream, parse_options=options)
        rows += table.num_rows
        if writer is not None:
            writer.write_table(table, ROW_GROUP_ROWS)
        del table
    if writer is not None:
        writer.close()
    return rows


def phase(variant: str, parts_dir: Path, out: Path) -> dict[str, float | int]:
    parts = sorted(parts_dir.glob("*.json.gz"))
    # Imports are not timed: both sides load pyarrow and the same billport modules.
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import billport.outputs.arrow
    import billport.outputs.parquet  # noqa: F401

    started = time.perf_counter()
    if variant == "billport":
        rows = run_billport(parts, out)
    else:
        rows = run_baseline(parts, out, write=variant == "baseline")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = out.stat().st_size if out.exists() else 0
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak, "bytes": size}


def measure(variant: str, parts_dir: Path, work: Path) -> dict[str, float | int]:
    out = work / f"{variant}.parquet"
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", variant, "--parts", str(parts_dir),
         "--out", str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    out.unlink(missing_ok=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("bench/out/parquet"))
    parser.add_argument("--phase", choices=["billport", "baseline", "read_json"])
    parser.add_argument("--parts", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.parts, args.out)))
        return
    seed(args.data_dir, args.rows)
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        rows = export_parts(args.data_dir, work / "parts")
        gzip_mb = sum(p.stat().st_size for p in (work / "parts").iterdir()) / 1e6
        best: dict[str, dict[str, float | int]] = {}
        for _ in range(args.repeat):
            for variant in ("billport", "baseline", "read_json"):
                result = measure(variant, work / "parts", work)
                assert result["rows"] == rows, (variant, result, rows)
                if variant not in best or result["seconds"] < best[variant]["seconds"]:
                    best[variant] = result
    ours, base, read = best["billport"], best["baseline"], best["read_json"]
    report = {
        "rows": rows,
        "parts_gzip_mb": round(gzip_mb, 1),
        "billport_seconds": round(float(ours["seconds"]), 2),
        "baseline_seconds": round(float(base["seconds"]), 2),
        "read_json_only_seconds": round(float(read["seconds"]), 2),
        "billport_rows_per_s": round(rows / float(ours["seconds"])),
        "baseline_rows_per_s": round(rows / float(base["seconds"])),
        "ratio_vs_baseline": round(float(base["seconds"]) / float(ours["seconds"]), 2),
        "parquet_mb": round(int(ours["bytes"]) / 1e6, 1),
        "baseline_parquet_mb": round(int(base["bytes"]) / 1e6, 1),
        "peak_rss_mb": round(float(ours["peak_rss_mb"])),
        "baseline_peak_rss_mb": round(float(base["peak_rss_mb"])),
        "target": {"ratio_vs_baseline": 0.7},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
