"""SQLite renders line items itself: the same draws and the same bytes as the Python renderer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from billport.billing.datasets import STORED_DATASETS, Dataset
from billport.seed import draws
from billport.seed.generator import Plan, SeedOptions, compile_pools, job_lines, make_plan
from billport.seed.lines import Lines, Pattern, python_rows
from billport.seed.pools import ReconTemplate, UsageTemplate
from billport.seed.sqlite_lines import SqliteLines, renderable
from billport.store.loading import LINE_ITEM_COLUMNS
from billport.store.tables import line_items, metadata

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
OPTIONS = SeedOptions(seed=11, line_items=4_000, tenants=2, customers=4, months=2)
# Multi-byte UTF-8 (2, 3 and 4 bytes), quotes and backslashes escaped by JSON, and "%" that
# must come out once from both printf and bytes %.
NAME = 'Łódź 株式会社 "100%" \\ 🎉 %d %s'
TAGS = '{"discount":"5%","owner":"Zoë"}'


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")  # one in-memory database per connection pool
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _odd_plan() -> Plan:
    """A plan whose templates have unusual constant values."""
    plan = make_plan(OPTIONS, NOW)
    pools = {}
    for tenant, (recon, usage) in plan.pools.items():
        recon_odd = [_renamed(t) for t in recon]
        usage_odd = [_renamed(t) for t in usage]
        pools[tenant] = (recon_odd, usage_odd)
    return replace(plan, pools=pools, patterns=compile_pools(pools))  # type: ignore[arg-type]


def _renamed(template: ReconTemplate | UsageTemplate) -> ReconTemplate | UsageTemplate:
    values: dict[str, str] = {"CustomerName": NAME}
    if isinstance(template, UsageTemplate):
        values["Tags"] = TAGS
    else:
        values["PriceAdjustmentDescription"] = '["5.0% Promotional discount"]'
    return replace(template, doc=template.doc.fill(values))


def _stored(conn: sa.Connection) -> list[tuple]:  # type: ignore[type-arg]
    columns = [line_items.c[name] for name in LINE_ITEM_COLUMNS]
    rows = conn.execute(sa.select(*columns).order_by(line_items.c.id)).all()
    # total is exact decimal text in the database and in the Python rows
    return [(*r[:7], str(r[7]), *r[8:]) for r in rows]


def _sql_rows(engine: sa.Engine, lines: Lines, chunk: int = 200_000) -> tuple[list[tuple], int]:  # type: ignore[type-arg]
    with engine.begin() as conn:
        conn.execute(line_items.delete())
        with SqliteLines(conn, chunk) as sqlite_lines:
            total = sqlite_lines.insert(lines)
        return _stored(conn), total


def _python_rows(lines: Lines) -> tuple[list[tuple], int]:  # type: ignore[type-arg]
    sums = [0]
    rows = [row for batch in python_rows(lines, 700, sums) for row in batch]
    return rows, 0 if lines.scope.dataset.usage else sums[0]


@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1, 0x9E3779B97F4A7C15])
@pytest.mark.parametrize("start", [0, 1_500, 2**32 - 700])
def test_draws_are_the_same_in_sql(seed: int, start: int) -> None:
    raw = sa.create_engine("sqlite://").raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TEMP TABLE seed_counter (k INTEGER PRIMARY KEY)")
        cursor.executemany("INSERT INTO seed_counter VALUES (?)", draws.counter_rows())
        sql = draws.draws_sql(draws.counter_sql(":start", ":count"), ":low", ":high")
        low, high = draws.seed_halves(seed)
        got = cursor.execute(sql, {"start": start, "count": 2_100, "low": low, "high": high})
        assert got.fetchall() == [(i, *draws.draw(seed, i)) for i in range(start, start + 2_100)]
    finally:
        raw.close()


def test_draws_look_random() -> None:
    """Each draw spreads evenly over small ranges and the two draws of a row differ."""
    rows = [draws.draw(5, i) for i in range(64_000)]
    for values in ([h1 % 10 for h1, _ in rows], [h2 & 7 for _, h2 in rows]):
        counts = [values.count(k) for k in set(values)]
        assert len(counts) in (8, 10) and max(counts) / min(counts) < 1.1
    assert sum(h1 == h2 for h1, h2 in rows) == 0
    assert len({h1 for h1, _ in rows}) == len(rows)  # a bijection of the counter


@pytest.mark.parametrize("dataset", STORED_DATASETS)
def test_sql_rows_are_the_python_bytes(engine: sa.Engine, dataset: Dataset) -> None:
    plan = _odd_plan()
    jobs = [j for j in plan.jobs if j.scope.dataset == dataset and j.count]
    assert jobs
    for job in jobs[:3]:
        lines = job_lines(job, plan.patterns)
        assert renderable(lines)
        python, python_total = _python_rows(lines)
        sql, sql_total = _sql_rows(engine, lines)
        assert sql == python  # every column, documents byte for byte
        assert sql_total == python_total
        doc = json.loads(sql[0][9])
        assert doc["CustomerName"] == NAME
        assert (doc["Tags"] == TAGS) if dataset.usage else ("5.0% Promo" in sql[0][9].decode())


def test_chunks_do_not_change_the_rows(engine: sa.Engine) -> None:
    plan = make_plan(OPTIONS, NOW)
    job = next(j for j in plan.jobs if j.scope.dataset == Dataset.BILLED_RECONCILIATION)
    lines = replace(job_lines(job, plan.patterns), count=2_500)
    whole = _sql_rows(engine, lines)
    assert _sql_rows(engine, lines, chunk=1_000) == whole == _python_rows(lines)


def test_patterns_with_other_argument_orders_are_rendered_in_python(engine: sa.Engine) -> None:
    """printf takes one argument order per statement; such a job falls back to Python rows."""
    plan = make_plan(OPTIONS, NOW)
    job = next(j for j in plan.jobs if j.scope.dataset == Dataset.BILLED_USAGE)
    lines = job_lines(job, plan.patterns)
    first = lines.patterns[0]
    odd = Pattern(first.full, first.basic, first.full_args, (), first.customer_id, 1, 1)
    lines = replace(lines, patterns=(*lines.patterns[:-1], replace(odd, basic=b"{}")))
    assert not renderable(lines)
    assert _sql_rows(engine, lines) == _python_rows(lines)


def test_seeds_change_the_rows(engine: sa.Engine) -> None:
    plan = make_plan(OPTIONS, NOW)
    job = next(j for j in plan.jobs if j.scope.dataset == Dataset.BILLED_USAGE)
    lines = replace(job_lines(job, plan.patterns), count=300)
    first, _ = _sql_rows(engine, lines)
    again, _ = _sql_rows(engine, lines)
    other, _ = _sql_rows(engine, replace(lines, seed=lines.seed + 1))
    assert first == again
    assert sum(a[9] != b[9] for a, b in zip(first, other, strict=True)) > 290
