"""Which fault and how much latency a request gets (pure; randomness comes in seeded).

Replay: every request that needs a random choice takes the next number ``n`` of its
scenario's draw counter (kept in the database, so all replicas share one sequence and a
restart does not repeat it) and uses ``random.Random(f"{seed}:{n}")``. The same scenario,
set afresh, therefore gives the same faults to the same sequence of requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from billport.sandbox.scenario import Scenario

NO_DRAW = -1


@dataclass(frozen=True)
class Decision:
    """What to do to one request: a fault (``429``/``503``/``drop``) and/or a delay."""

    fault: str | None = None
    retry_after: int | None = None
    delay_ms: float = 0.0

    @property
    def inert(self) -> bool:
        return self.fault is None and self.delay_ms == 0


def rng_for(seed: int, draw: int) -> random.Random:
    """The generator of draw number ``draw`` of a scenario seeded with ``seed``."""
    return random.Random(f"billport:{seed}:{draw}")


def needs_draw(scenario: Scenario, method: str, path: str) -> bool:
    """True when the decision for this request depends on a random number."""
    if scenario.latency is not None and not scenario.latency.fixed:
        return True
    for rule in scenario.faults:
        if not rule.applies(method, path):
            continue
        if 0 < rule.probability < 1:
            return True
        if rule.latency is not None and not rule.latency.fixed:
            return True
    return False


def _uniform(rng: random.Random, low: int, high: int) -> float:
    return float(low) if low == high else rng.uniform(low, high)


def decide(
    scenario: Scenario, method: str, path: str, rng: random.Random, default_retry_after: int
) -> Decision:
    """Apply the scenario's rules, in order, to one request.

    Latency adds up (scenario-wide plus every matching latency rule that fires); the first
    matching 429/503/drop rule that fires wins and the rest are not consulted.
    """
    delay = 0.0
    if scenario.latency is not None:
        delay += _uniform(rng, scenario.latency.low, scenario.latency.high)
    for rule in scenario.faults:
        if not rule.applies(method, path):
            continue
        fires = rule.probability >= 1 or (rule.probability > 0 and rng.random() < rule.probability)
        if not fires:
            continue
        if rule.kind == "latency" and rule.latency is not None:
            delay += _uniform(rng, rule.latency.low, rule.latency.high)
            continue
        retry_after = rule.retry_after
        if rule.kind == "429" and retry_after is None:
            retry_after = (
                scenario.retry_after if scenario.retry_after is not None else default_retry_after
            )
        return Decision(rule.kind, retry_after, delay)
    return Decision(None, None, delay)
