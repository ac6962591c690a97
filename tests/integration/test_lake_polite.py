"""``billport sync`` is polite: under injected 429s and slow operations it waits every
``Retry-After`` it is told (billport's compliance report over its request log) and still
lands every invoice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from billport.settings import load_settings
from billport.usecases import scenarios
from billport.usecases.request_log import compliance_report
from tests.support.data import seed_demo
from tests.support.lake import Live, landed, live_billport, run_sync

IN_FLIGHT = 0.1  # seconds: a call this close to the 429 was on its way when it was sent
SCENARIO = {
    "retryAfter": 1,  # on running operations
    "progression": "polls:2",
    "faults": [{"route": "/v1.0/reports/*", "kind": "429", "probability": 0.5,
                "retryAfter": 1, "methods": ["POST"]}],
}  # fmt: skip


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[Live]:
    # The real clock: the compliance report measures waits on the server's clock.
    settings = load_settings(
        environ={}, data_dir=tmp_path / "data", database_url=database_url, worker=False
    )
    with live_billport(settings, lambda runtime: seed_demo(runtime.db, settings)) as live:
        scenarios.set_scenario(live.runtime.db, live.runtime.clock, None, SCENARIO)
        yield live


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sync_waits_every_retry_after_and_lands_everything(live: Live, tmp_path: Path) -> None:
    code, lines = run_sync(live, tmp_path / "lake", "--datasets", "billed-reconciliation",
                           "--poll-min", "0", "--poll-max", "5")  # fmt: skip
    assert code == 0, [line for line in lines if line.get("status") == "failed"]
    statuses = set(landed(lines).values())
    assert statuses == {"new", "noData"}
    live.logged()  # flushed
    reports = compliance_report(live.runtime.db)
    # A call the server received before, or within a moment of, answering the 429 was sent
    # before the client was told: with exports in parallel that happens, and the report
    # counts it. A call sent after being told waits the whole second (without the shared
    # throttle, waits of 0.3-0.7 s show up here).
    after_told = [v for r in reports for v in r.violations if v.waited_seconds >= IN_FLIGHT]
    assert reports and after_told == [], [v.to_json() for v in after_told]
    assert sum(r.retry_afters for r in reports) > 0 and sum(r.checked for r in reports) > 0
