"""Seeding speed: rows/s into a fresh store, against the 100k rows/s target and a naive baseline.

    python bench/bench_seed.py                      # 1M line items, SQLite in a temp dir
    python bench/bench_seed.py --python-render --parallel   # SQLite, rows rendered in Python
    python bench/bench_seed.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

On SQLite the rows are rendered by SQLite itself (``INSERT ... SELECT``, one core);
``--python-render`` renders them in Python and inserts them with ``executemany`` instead, as
before, in-process or, with ``--parallel``, in a forked child. On PostgreSQL rows are always
rendered in Python (``COPY``); ``--parallel`` forks the renderer there too.

The baseline, measured in the same run on a small sample, is what most scripts do: a dict
per row, ``orjson.dumps`` per attribute set, a SQLAlchemy ``insert()`` executemany.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.seed.generator import SeedOptions, make_plan, seed_store
from billport.settings import load_settings
from billport.store import resets
from billport.store.db import Database
from billport.store.tables import line_items

TARGET = 100_000  # rows/s on SQLite for 1M line items (the Foundation issue)
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def naive_rate(db: Database, rows: int) -> float:
    """Rows/s of the per-row dict + orjson + SQLAlchemy approach, on ``rows`` rows of an
    empty store (same backend as the seed)."""
    plan = make_plan(SeedOptions(line_items=rows, tenants=1, months=1), NOW)
    docs = [r[9] for batch in plan.batches(rows, {}) for r in batch]
    dataset = Dataset.BILLED_USAGE
    basic = field_names(dataset, AttributeSet.BASIC)
    started = time.perf_counter()
    with db.begin() as conn:
        batch = []
        for raw in docs:
            doc = orjson.loads(raw)  # stands in for building the dict field by field
            batch.append({
                "tenant_id": doc["PartnerId"], "dataset": dataset.code, "invoice_id": None,
                "billing_month": 202611, "currency": "USD", "customer_id": doc["CustomerId"],
                "charge_type": "new", "total": "0", "rev": 0, "doc_full": orjson.dumps(doc),
                "doc_basic": orjson.dumps({k: doc.get(k) for k in basic}),
            })  # fmt: skip
        conn.execute(line_items.insert(), batch)
    return rows / (time.perf_counter() - started)


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def cpu_seconds() -> float:
    """User + system time of this process and its (forked renderer) children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument(
        "--parallel", action="store_true", help="render in Python in a forked child"
    )
    parser.add_argument(
        "--python-render", action="store_true", help="SQLite: render in Python, not in SQL"
    )
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="billport-bench-") as tmp:
        settings = load_settings(environ={}, data_dir=Path(tmp), database_url=args.database_url)
        db = Database.from_settings(settings)
        with db.begin() as conn:
            resets.delete_data(conn)  # a reused PostgreSQL database
        options = SeedOptions(
            seed=1,
            line_items=args.line_items,
            parallel=args.parallel,
            render_in_sqlite=not args.python_render,
        )
        cpu, started = cpu_seconds(), time.perf_counter()
        report = seed_store(db, options, NOW)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        rss = peak_rss_mib()  # before the baseline, which holds its sample in memory
        with db.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(line_items)).scalar()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        if db.dialect == "sqlite":  # a fresh file: not one that holds a million rows
            settings = settings.replace(data_dir=Path(tmp) / "baseline")
        else:
            with db.begin() as conn:
                resets.delete_data(conn)
        db.dispose()
        baseline_db = Database.from_settings(settings)
        baseline = naive_rate(baseline_db, args.baseline_rows)
        baseline_db.dispose()
    rate = report.total_line_items / elapsed
    in_sql = db.dialect == "sqlite" and not args.python_render
    mode = "rows rendered by SQLite" if in_sql else "rows rendered in Python"
    mode += ", forked renderer" if args.parallel and not in_sql else ""
    print(f"backend          {db.dialect} ({mode})")
    print(f"machine          {os.cpu_count()} cores, load average {load:.2f} at start")
    print(f"line items       {stored:,} in {elapsed:.2f} s wall, {cpu:.2f} s CPU")
    print(f"seed rate        {rate:,.0f} rows/s ({stored / cpu:,.0f} rows per CPU second)")
    print(f"vs target        {rate / TARGET:.2f}x of {TARGET:,} rows/s")
    print(f"naive baseline   {baseline:,.0f} rows/s -> seed is {rate / baseline:.1f}x faster")
    print(f"peak RSS         {rss:,.0f} MiB")
    if db.dialect == "sqlite":
        print(f"database size    {size / 2**20:,.0f} MiB ({size / max(stored, 1):,.0f} B/row)")


if __name__ == "__main__":
    main()
