"""``billport sync`` against a live billport with the demo data, on SQLite and PostgreSQL.

The first run writes every partition and the state; the second requests no export (checked
in billport's request log); new lines on one invoice re-export that invoice only; DuckDB
totals equal the invoices' totals; a dry run exports and writes nothing; a route that answers
404 (aggregated usage on a service without it) is skipped with a note.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from billport.client import GraphClient, HttpClient, PartnerCenterClient, StaticToken
from billport.lake import LakeState, LakeSync, SyncOptions
from billport.lake.paths import billed_partition
from billport.settings import Settings
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, add_invoice_lines, seed_demo
from tests.support.lake import Live, exports_requested, landed, live_billport, run_sync
from tests.support.tokens import token

BILLED = ("billedReconciliation", "billedUsage")


@pytest.fixture
def live(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))  # the CLI signs at the server's clock
    with live_billport(settings, lambda runtime: seed_demo(runtime.db, settings)) as live:
        yield live


@pytest.mark.slow
def test_sync_lands_everything_then_requests_no_export_then_only_the_changed_invoice(
    live: Live, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    code, lines = run_sync(live, lake, "--unbilled-every", "1d")
    assert code == 0, lines
    first = landed(lines)
    assert {first[f"{d}/{DEMO_INVOICE}"] for d in BILLED} == {"new"}
    assert first["unbilledUsage/current/USD"] == "replaced"
    assert first["billedReconciliation/D02005YFHI"] == "noData"  # legacy: no Graph data
    state = LakeState.load(lake / "billport-state.json")
    record = state.record(DEMO_INVOICE, "billedReconciliation")
    assert record is not None and record.status == "synced" and record.etag and record.rows > 200
    part = billed_partition(lake, "billedReconciliation", 202610, DEMO_INVOICE)
    assert record.path == part.relative_to(lake).as_posix() and part.exists()
    assert not list(lake.glob(".billport/exports/*")), "finished exports leave no work files"
    assert_totals_match_invoices(lake)

    before = len(live.logged())
    code, lines = run_sync(live, lake, "--unbilled-every", "1d")
    assert code == 0 and landed(lines) == {}, lines
    calls = live.logged()[before:]
    assert exports_requested(calls) == []
    assert [p for m, p in calls if "invoices" in p] == ["/v1/invoices"]

    add_invoice_lines(live.runtime.db, live.runtime.settings, 5)
    before = len(live.logged())
    code, lines = run_sync(live, lake, "--unbilled-every", "1d")
    assert code == 0, lines
    third = landed(lines)
    assert set(third) == {f"{d}/{DEMO_INVOICE}" for d in (*BILLED, "billedAggregatedUsage")}
    assert third[f"billedReconciliation/{DEMO_INVOICE}"] == "changed"
    assert len(exports_requested(live.logged()[before:])) == len(third)
    after = LakeState.load(lake / "billport-state.json").record(
        DEMO_INVOICE, "billedReconciliation"
    )
    assert after is not None and after.rows == record.rows + 5 and after.etag != record.etag
    assert_totals_match_invoices(lake)


def assert_totals_match_invoices(lake: Path) -> None:
    """Every synced invoice's lines add up to its total, each line once."""
    con = duckdb.connect(str(lake / "billport.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT i.InvoiceId, i.TotalCharges, sum(r.Total), count(*), "
            "count(DISTINCT r.invoice) FROM billed_reconciliation r "
            "JOIN invoices i ON i.InvoiceId = r.invoice GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) >= 5
    for invoice_id, total, lines_total, _count, partitions in rows:
        assert (invoice_id, lines_total, partitions) == (invoice_id, total, 1)


@pytest.mark.slow
def test_a_dry_run_lists_what_it_would_export_and_exports_nothing(
    live: Live, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    code, lines = run_sync(live, lake, "--dry-run", "--datasets", "billed-reconciliation")
    assert code == 0
    planned = {line["job"] for line in lines if line["event"] == "planned"}
    assert f"billedReconciliation/{DEMO_INVOICE}" in planned
    assert all(job.startswith("billedReconciliation/") for job in planned)
    assert "billedReconciliation/D02005YFHI" in planned  # dated 2017-01-21
    code, lines = run_sync(live, lake, "--dry-run", "--since", "2026-01-01")
    recent = {line["job"] for line in lines if line["event"] == "planned"}
    assert code == 0 and f"billedUsage/{DEMO_INVOICE}" in recent
    assert not any("D02005YFHI" in job or "G000024130" in job for job in recent)
    assert exports_requested(live.logged()) == []
    assert not lake.exists()


@pytest.mark.slow
def test_a_dataset_whose_route_answers_404_is_skipped_with_a_note(
    live: Live, tmp_path: Path
) -> None:
    graph = StaticToken(token(live.runtime, None, DEMO_TENANT, "graph"))
    partner_center = StaticToken(token(live.runtime, None, DEMO_TENANT, "partner-center"))
    with HttpClient() as http:
        nowhere = GraphClient(graph, http, f"{live.url}/no-such-version")
        options = SyncOptions(datasets=("billedAggregatedUsage",), catalog=False)
        syncer = LakeSync(
            tmp_path / "lake",
            PartnerCenterClient(partner_center, http, live.url),
            GraphClient(graph, http, f"{live.url}/v1.0"),
            nowhere,
            options,
        )
        report = syncer.run()
    assert report.ok and report.landings
    assert {landing.status for landing in report.landings} == {"unavailable"}
    assert "404" in report.landings[0].note
    # one probe, not one 404 per invoice
    assert len([p for p in exports_requested(live.logged()) if "no-such" in p]) <= options.exports


KILL_WAIT = 60.0  # seconds the killed run may take to land its first partition


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_killed_mid_way_finishes_on_the_next_without_duplicates(
    live: Live, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    with scenarios_slowed(live):
        command = [sys.executable, "-m", "billport", *live.args(lake, "--exports", "1")]
        command += ["--poll-min", "0.2", "--poll-max", "0.2"]
        env = {**os.environ, "BILLPORT_NOW": str(live.runtime.settings.now)}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            synced = wait_for_first_landing(lake, proc)
        finally:
            proc.kill()
            proc.wait(10)
    assert synced, "the killed run landed nothing"
    code, lines = run_sync(live, lake)
    assert code == 0, [line for line in lines if line.get("status") == "failed"]
    again = landed(lines)
    assert not set(again) & synced, "a partition recorded before the kill was exported again"
    state = LakeState.load(lake / "billport-state.json")
    con = duckdb.connect(str(lake / "billport.duckdb"), read_only=True)
    try:
        query = "SELECT invoice, count(*) FROM billed_reconciliation GROUP BY ALL"
        counts = dict(con.execute(query).fetchall())
    finally:
        con.close()
    for invoice_id, count in counts.items():
        record = state.record(invoice_id, "billedReconciliation")
        assert record is not None and record.rows == count
    assert_totals_match_invoices(lake)


@contextmanager
def scenarios_slowed(live: Live) -> Iterator[None]:
    """Every export shows as running for its first two polls: a run lasts long enough to kill."""
    from billport.usecases import scenarios

    scenarios.set_scenario(live.runtime.db, live.runtime.clock, None, {"progression": "polls:3"})
    try:
        yield
    finally:
        scenarios.clear_scenario(live.runtime.db, live.runtime.clock, None)


def wait_for_first_landing(lake: Path, proc: subprocess.Popen[bytes]) -> set[str]:
    """The jobs the state records once the first billed partition landed (bounded)."""
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline and proc.poll() is None:
        state = LakeState.load(lake / "billport-state.json")  # never half-written
        synced = {
            f"{dataset}/{invoice_id}"
            for invoice_id, records in state.invoices.items()
            for dataset, record in records.items()
            if record.status == "synced"
        }
        if synced:
            return synced
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    return set()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stopped_run_keeps_its_operations_and_the_next_resumes_them(
    live: Live, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    graph = StaticToken(token(live.runtime, None, DEMO_TENANT, "graph"))
    partner_center = StaticToken(token(live.runtime, None, DEMO_TENANT, "partner-center"))
    options = SyncOptions(datasets=("billedReconciliation",), catalog=False)

    def syncer(http: HttpClient) -> LakeSync:
        return LakeSync(lake, PartnerCenterClient(partner_center, http, live.url),
                        GraphClient(graph, http, f"{live.url}/v1.0"), None, options)  # fmt: skip

    with HttpClient() as http:
        stopping = syncer(http)
        stopping.stopping.set()  # as Ctrl-C does: every export stops at its first poll
        first = stopping.run()
    assert {landing.status for landing in first.landings} == {"failed"}
    assert all("stopped" in landing.note for landing in first.landings)
    kept = list(lake.glob(".billport/exports/*.state.json"))
    assert len(kept) == len(first.landings)
    before = len(live.logged())
    with HttpClient() as http:
        second = syncer(http).run()
    assert second.ok and {landing.status for landing in second.landings} == {"new", "noData"}
    assert exports_requested(live.logged()[before:]) == []  # the same operations, waited on
    assert not list(lake.glob(".billport/exports/*"))
