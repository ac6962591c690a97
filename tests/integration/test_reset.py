"""Resets forget every export, a partitioned one mid-flight included, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from billport.cli import main
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import partitions as partition_store
from billport.store import resets
from billport.store.tables import (
    export_parts,
    export_plans,
    manifests,
    metadata,
    operations,
    partners,
)
from tests.support.sandbox import admin_headers, sandbox_app, start_export

EXPORT_TABLES = (operations, manifests, export_plans, export_parts)


def row_counts(runtime: Runtime, tables: tuple[sa.Table, ...]) -> dict[str, int]:
    with runtime.db.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in tables
        }


def start_partitioned_export(client: object, runtime: Runtime) -> partition_store.Partition:
    """An export split into partitions, one of them leased by a worker that is still busy."""
    start_export(client, runtime)
    assert Worker(runtime).run_once()  # plans the export: operation, plan and partitions
    with runtime.db.begin() as conn:
        part = partition_store.lease_next_partition(
            conn, owner="busy-worker", now=runtime.clock(), lease_seconds=30
        )
    assert part is not None
    counts = row_counts(runtime, EXPORT_TABLES)
    assert counts["export_plans"] == 1 and counts["export_parts"] > 1
    return part


def test_reset_during_a_partitioned_export_answers_200_and_leaves_no_rows(
    settings: Settings,
) -> None:
    with sandbox_app(settings, partition_rows=3) as (client, runtime, _):
        part = start_partitioned_export(client, runtime)
        response = client.post("/_billport/reset", headers=admin_headers(runtime))
        assert response.status_code == 200, response.text
        assert response.json()["operations"] == 1
        assert row_counts(runtime, EXPORT_TABLES) == dict.fromkeys(
            (t.name for t in EXPORT_TABLES), 0
        )
        assert Worker(runtime).run(once=True) == 0  # nothing left to lease
        with runtime.db.begin() as conn:  # the busy worker's partition is gone with it
            assert not partition_store.finish_partition(conn, part, owner="busy-worker")


def test_reset_of_all_data_during_a_partitioned_export(settings: Settings) -> None:
    with sandbox_app(settings, partition_rows=3) as (client, runtime, _):
        start_partitioned_export(client, runtime)
        response = client.post(
            "/_billport/reset", json={"all": True}, headers=admin_headers(runtime)
        )
        assert response.status_code == 200, response.text
        assert set(row_counts(runtime, (*EXPORT_TABLES, partners)).values()) == {0}


def test_seed_reset_on_the_command_line_during_a_partitioned_export(
    settings: Settings,
) -> None:
    with sandbox_app(settings, partition_rows=3) as (client, runtime, _):
        start_partitioned_export(client, runtime)
        args = ["seed", "--demo", "--reset", "--data-dir", str(settings.data_dir)]
        args += ["--database-url", settings.effective_database_url]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "seeded 2 tenants" in result.output
        assert set(row_counts(runtime, EXPORT_TABLES).values()) == {0}
        assert list(runtime.settings.blob_dir.rglob("*.json.gz")) == []


def test_a_table_a_later_migration_adds_is_reset_too() -> None:
    later = sa.Table(
        "export_notes",
        metadata,
        sa.Column("operation_id", sa.String(36), sa.ForeignKey("operations.operation_id")),
        sa.Column("part_index", sa.Integer),
    )
    try:
        chosen = resets.export_tables()
        assert later in chosen and export_parts in chosen and export_plans in chosen
        order = [t.name for t in chosen]
        # Children before the tables they reference, so no foreign key is ever violated.
        assert order.index("export_notes") < order.index("operations")
        assert order.index("export_parts") < order.index("export_plans")
        assert order.index("export_plans") < order.index("operations")
        assert later in resets.data_tables()
    finally:
        metadata.remove(later)
    assert "partners" not in {t.name for t in resets.export_tables()}
    assert {t.name for t in resets.data_tables()}.isdisjoint({"scenarios", "request_log"})
