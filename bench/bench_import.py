"""``billport import`` benchmark: N rows of downloaded export blobs (or a portal CSV file)
into an empty store.

Seeds one invoice of N billed reconciliation rows (``billport seed --invoice``), writes its
stored full-set documents out as gzip JSON-lines blobs of 250,000 rows (what a client
downloads from an export) — or, with ``--csv``, as one portal reconciliation CSV file with
``MM/DD/YYYY`` dates — and times ``import_blobs`` of them into a fresh store in a fresh
process, so that its peak RSS is its own. ``--sizes`` runs several sizes to show memory is
flat in file size.

Usage: python bench/bench_import.py [--rows 1000000] [--sizes 250000,1000000] [--csv]
                                    [--data-dir D] [--database-url URL-of-an-empty-target]
Target: >= 50,000 rows/s, peak RSS flat in N. Each blob run also prints a reference measured
right after it: the same blobs only inflated and split into lines (rows/s), and the import's
ratio to it, which moves less than either figure when the machine drifts.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

INVOICE = "G900000003"
BLOB_ROWS = 250_000


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
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"seeded {rows:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    marker.touch()


def documents(data_dir: Path, rows: int) -> Iterator[tuple[str, bytes]]:
    """``(partner tenant, stored full-set document)`` of the first ``rows`` rows of the
    invoice, streamed."""
    import sqlalchemy as sa

    from billport.billing.datasets import Dataset
    from billport.runtime import open_runtime
    from billport.settings import load_settings
    from billport.store.tables import line_items as li

    runtime = open_runtime(load_settings(data_dir=data_dir))
    query = (
        sa.select(li.c.tenant_id, li.c.doc_full)
        .where(li.c.dataset == Dataset.BILLED_RECONCILIATION.code, li.c.invoice_id == INVOICE)
        .order_by(li.c.id)
        .limit(rows)
    )
    try:
        with runtime.db.connect() as conn:
            result = conn.execute(query, execution_options={"stream_results": True})
            for tenant, doc in result:
                yield tenant, bytes(doc)
    finally:
        runtime.db.dispose()


def write_blobs(docs: Iterator[tuple[str, bytes]], folder: Path) -> str:
    """Blobs of ``BLOB_ROWS`` rows, written as they stream in; the tenant."""
    folder.mkdir(parents=True)
    tenants = set()
    with ExitStack() as stack:
        out = None
        for number, (tenant, doc) in enumerate(docs):
            tenants.add(tenant)
            if number % BLOB_ROWS == 0:
                stack.close()
                name = folder / f"part-{number // BLOB_ROWS:05d}.c000.json.gz"
                out = stack.enter_context(gzip.open(name, "wb", compresslevel=1))
            assert out is not None
            out.write(doc + b"\n")
    (tenant,) = tenants
    return tenant


def _portal_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if len(text) == 20 and text.endswith("T00:00:00Z"):  # a date, as the portal writes it
        return f"{text[5:7]}/{text[8:10]}/{text[:4]}"
    return text


def write_csv(docs: Iterator[tuple[str, bytes]], folder: Path) -> str:
    """One portal-style CSV file; the tenant."""
    folder.mkdir(parents=True)
    tenants = set()
    with open(folder / "recon.csv", "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        for number, (tenant, doc) in enumerate(docs):
            tenants.add(tenant)
            row = json.loads(doc, parse_float=str)
            if number == 0:
                writer.writerow(list(row))
            writer.writerow([_portal_cell(v) for v in row.values()])
    (tenant,) = tenants
    return tenant


def child(folder: str, tenant: str, data_dir: str, database_url: str | None) -> None:
    """Runs in a fresh process: the import, then its time and peak RSS as JSON."""
    from billport.runtime import open_runtime
    from billport.settings import load_settings
    from billport.usecases.imports import ImportRequest, import_blobs

    settings = load_settings(data_dir=Path(data_dir), database_url=database_url)
    runtime = open_runtime(settings)
    started = time.perf_counter()
    before = os.times()
    report = import_blobs(runtime.db, ImportRequest(tenant, Path(folder)), runtime.clock())
    wall, after = time.perf_counter() - started, os.times()
    runtime.db.dispose()
    rss = peak_rss_kib()
    user, system = after.user - before.user, after.system - before.system
    print(json.dumps({"rows": report.rows, "wall": wall, "user": user, "sys": system,
                      "rss_kib": rss}))  # fmt: skip


def peak_rss_kib() -> int:
    """This process's peak RSS. Not getrusage: Linux carries the parent's peak over exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # elsewhere: the best there is


def read_only_rate(folder: Path) -> float:
    """The same blobs inflated and split into lines, nothing else: rows/s of this machine at
    this moment, a reference for the import's own figure (the machine drifts ±10%)."""
    from billport.ingest import files

    sources = files.inputs([folder]).rows
    started = time.perf_counter()
    rows = sum(1 for source in sources for _ in files.lines(source))
    return rows / (time.perf_counter() - started)


def measure(folder: Path, tenant: str, target: Path, database_url: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(folder), tenant, str(target)]
    if database_url:
        command.append(database_url)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5], sys.argv[5] if len(sys.argv) > 5 else None)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sizes", help="comma-separated row counts (default: --rows)")
    parser.add_argument("--csv", action="store_true", help="a portal CSV file, not blobs")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "bp-bi")
    parser.add_argument("--database-url", help="an EMPTY migrated target (default: SQLite)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.rows]
    seed(args.data_dir / "source", max(sizes))
    print(
        f"{'rows':>10} {'wall s':>8} {'user s':>7} {'sys s':>6} {'rows/s':>10} {'peak RSS MiB':>13}"
        f" {'read-only rows/s':>17} {'ratio':>6}"
    )
    for size in sizes:
        work = args.data_dir / f"run-{size}"
        shutil.rmtree(work, ignore_errors=True)
        docs = documents(args.data_dir / "source", size)
        tenant = (write_csv if args.csv else write_blobs)(docs, work / "in")
        os.sync()  # the kernel writes the input out now, not while the import is timed
        result = measure(work / "in", tenant, work / "target", args.database_url)
        rate = result["rows"] / result["wall"]
        reference = "" if args.csv else f" {(read := read_only_rate(work / 'in')):>17,.0f}"
        print(
            f"{result['rows']:>10,} {result['wall']:>8.1f} {result['user']:>7.1f} "
            f"{result['sys']:>6.1f} {rate:>10,.0f} {result['rss_kib'] / 1024:>13.0f}{reference}"
            + (f" {rate / read:>6.2f}" if reference else "")
        )
        shutil.rmtree(work, ignore_errors=True)
    print("target: >= 50,000 rows/s, peak RSS flat in rows", file=sys.stderr)


if __name__ == "__main__":
    main()
