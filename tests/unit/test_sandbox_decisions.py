"""Fault decisions, progression and the compliance report (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billport.sandbox.compliance import compliance, report_json
from billport.sandbox.faults import decide, needs_draw, rng_for
from billport.sandbox.identity import tenant_in_path
from billport.sandbox.progression import revealed
from billport.sandbox.scenario import Progression, parse_scenario
from billport.store.request_log import LoggedRequest

T0 = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_each_fault_kind_fires_at_probability_one() -> None:
    for kind in ("429", "503", "drop"):
        scenario = parse_scenario({"faults": [{"route": "/v1.0/*", "kind": kind}]})
        decision = decide(scenario, "GET", "/v1.0/x", rng_for(0, 1), 5)
        assert decision.fault == kind
        assert decision.retry_after == (5 if kind == "429" else None)
        assert decide(scenario, "GET", "/v1/x", rng_for(0, 1), 5).inert
        assert not needs_draw(scenario, "GET", "/v1.0/x")


def test_first_firing_rule_wins_and_latency_adds_up() -> None:
    scenario = parse_scenario(
        {
            "latencyMs": 10,
            "faults": [
                {"route": "*", "kind": "latency", "latencyMs": 5},
                {"route": "*", "kind": "503", "retryAfter": 3},
                {"route": "*", "kind": "429"},
            ],
        }
    )
    decision = decide(scenario, "POST", "/v1.0/x", rng_for(0, 1), 5)
    assert (decision.fault, decision.retry_after, decision.delay_ms) == ("503", 3, 15.0)


def test_seeded_draws_replay_and_differ_by_seed() -> None:
    scenario = parse_scenario(
        {"seed": 42, "faults": [{"route": "*", "kind": "429", "probability": 0.3}]}
    )
    assert needs_draw(scenario, "GET", "/x")

    def faults(seed: int) -> list[str | None]:
        return [decide(scenario, "GET", "/x", rng_for(seed, n), 1).fault for n in range(1, 200)]

    first = faults(42)
    assert first == faults(42)
    assert first != faults(43)
    assert 30 < sum(f == "429" for f in first) < 90  # about 30% of 199


def test_latency_ranges_stay_in_bounds() -> None:
    scenario = parse_scenario({"latencyMs": [50, 200]})
    delays = [decide(scenario, "GET", "/x", rng_for(1, n), 1).delay_ms for n in range(100)]
    assert all(50 <= d <= 200 for d in delays)
    assert len(set(delays)) > 50


def test_progression_reveals() -> None:
    later = T0 + timedelta(seconds=10)
    assert revealed(Progression(), created_at=T0, now=T0, polls=0)
    assert not revealed(
        Progression("after", 10), created_at=T0, now=later - timedelta(microseconds=1), polls=0
    )
    assert revealed(Progression("after", 10), created_at=T0, now=later, polls=0)
    assert not revealed(Progression("polls", 3), created_at=T0, now=later, polls=2)
    assert revealed(Progression("polls", 3), created_at=T0, now=T0, polls=3)


def row(
    n: int, client: str, at: float, retry_after: int | None, path: str = "/op/1"
) -> LoggedRequest:
    moment = T0 + timedelta(seconds=at)
    return LoggedRequest(
        id=n, client=client, tenant_id=None, method="GET", path=path, status=200,
        received_at=moment, answered_at=moment, latency_ms=0, delay_ms=0, fault=None,
        retry_after=retry_after, request_id=f"r{n}",
    )  # fmt: skip


def test_compliance_flags_early_retries_only() -> None:
    rows = [
        row(1, "early", 0, 2),
        row(2, "patient", 0, 2),
        row(3, "early", 1.0, 2),
        row(4, "patient", 2.0, 2),
        row(5, "early", 1.97, None, "/op/2"),  # another resource: not a retry
        row(6, "patient", 4.0, None),
        row(7, "early", 2.96, None),  # 1.96 s after being told 2 s: inside the slack
    ]
    reports = {r.client: r for r in compliance(rows)}
    assert reports["patient"].compliant and reports["patient"].checked == 2
    early = reports["early"]
    assert [round(v.waited_seconds, 3) for v in early.violations] == [1.0]
    assert early.checked == 2
    body = report_json(list(reports.values()))
    assert body["compliant"] is False
    assert body["clients"][0]["violations"][0]["requestId"] == "r3"


def test_tenant_of_a_signed_blob_path() -> None:
    assert tenant_in_path("billedreconfastpath/v1/PartnerTenantId=abc-1/BillingMonth=1/x") == (
        "abc-1"
    )
    assert tenant_in_path("/healthz") is None
