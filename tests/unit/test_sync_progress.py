"""``billport sync``'s progress: one line per export in flight on a terminal, none in a pipe."""

from __future__ import annotations

import io

from rich.console import Console

from billport.billing.datasets import BillingPeriod
from billport.cli.sync_progress import SyncProgress
from billport.client.models import Blob, Manifest
from billport.lake.plan import Job, Plan
from billport.lake.run import Landing


def run(console: Console) -> SyncProgress:
    job = Job("unbilledUsage", "due", period=BillingPeriod.CURRENT, currency="USD")
    with SyncProgress(console) as progress:
        events = progress.events()
        events.planned(Plan(jobs=[job]))
        events.started(job)
        export = events.export_events(job)
        export.started("http://x/operations/1", False)
        export.manifest(Manifest("m", "http://x", "", (Blob("a"), Blob("b"))))
        export.part_done(Blob("a"), 10)
        events.phase(job, "converting to Parquet")
        events.finished(Landing(job, "replaced", rows=12_345))
    return progress


def test_a_terminal_shows_each_job_as_it_lands() -> None:
    out = io.StringIO()
    progress = run(Console(file=out, force_terminal=True, width=120))
    assert progress.enabled
    assert "[1/1] unbilledUsage/current/USD: replaced, 12,345 rows" in out.getvalue()


def test_a_pipe_shows_nothing() -> None:
    out = io.StringIO()
    progress = run(Console(file=out, force_terminal=False))
    assert not progress.enabled and out.getvalue() == ""
