"""Scenario parsing and validation (pure)."""

from __future__ import annotations

import pytest

from billport.sandbox.scenario import (
    InvalidScenario,
    Latency,
    Progression,
    glob_match,
    parse_progression,
    parse_scenario,
)

ISSUE_EXAMPLE = {
    "progression": "polls:3",
    "retryAfter": 2,
    "failures": [
        {
            "dataset": "billedUsage",
            "invoice": "G0169*",
            "code": "5000",
            "message": "No data available",
        }
    ],
    "faults": [{"route": "/v1.0/reports/*", "kind": "429", "probability": 0.5, "retryAfter": 1}],
    "latencyMs": [50, 200],
    "sasLifetime": 3600,
    "dataFormat": "compressedJSON",
    "manifest": "both",
    "seed": 42,
}


def test_the_issue_example_parses_and_round_trips() -> None:
    scenario = parse_scenario(ISSUE_EXAMPLE)
    assert scenario.progression == Progression("polls", 3)
    assert scenario.latency == Latency(50, 200)
    assert scenario.faults[0].probability == 0.5
    assert scenario.to_json() == ISSUE_EXAMPLE
    assert parse_scenario(scenario.to_json()) == scenario
    assert scenario.random


def test_empty_scenario_is_the_default() -> None:
    scenario = parse_scenario({})
    assert scenario.to_json() == {"progression": "immediate", "seed": 0}
    assert not scenario.random


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("immediate", Progression()),
        ("after:2.5", Progression("after", 2.5)),
        ("after:0", Progression("after", 0)),
        ("polls:1", Progression("polls", 1)),
    ],
)
def test_progressions(raw: str, expected: Progression) -> None:
    assert parse_progression("progression", raw) == expected
    assert parse_progression("progression", str(expected)) == expected


@pytest.mark.parametrize(
    "raw", ["immediate:1", "after:-1", "after:x", "polls:0", "polls:1.5", "soon", 3]
)
def test_bad_progressions(raw: object) -> None:
    with pytest.raises(InvalidScenario) as caught:
        parse_progression("progression", raw)
    assert caught.value.key == "progression"


def test_failure_globs_match_case_insensitively() -> None:
    scenario = parse_scenario({"failures": [{"dataset": "billed*", "invoice": "g0169*"}]})
    assert scenario.failure_for("billedUsage", "G016907411") is not None
    assert scenario.failure_for("billedUsage", "D02005YFHI") is None
    assert scenario.failure_for("unbilledUsage", "G016907411") is None
    assert scenario.failure_for("billedReconciliation", None) is None
    only_dataset = parse_scenario({"failures": [{"dataset": "unbilled*"}]})
    assert only_dataset.failure_for("unbilledUsage", None) is not None
    assert glob_match("[GD]0*", "d02005")


def test_fault_rules_match_method_and_path() -> None:
    scenario = parse_scenario(
        {"faults": [{"route": "/blobs/*", "kind": "drop", "methods": ["get"]}]}
    )
    rule = scenario.faults[0]
    assert rule.methods == ("GET",)
    assert rule.applies("GET", "/blobs/a/b/c.json.gz")
    assert not rule.applies("HEAD", "/blobs/a")
    assert not rule.applies("GET", "/v1.0/blobs/a")


def test_invalid_scenario_is_an_invalid_request_with_the_key_in_the_message() -> None:
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario({"faults": [{"route": "/x", "kind": "latency"}]})
    assert caught.value.key == "faults[0].latencyMs"
    assert (
        caught.value.message
        == "Invalid scenario: 'faults[0].latencyMs' is required for kind latency."
    )
    with pytest.raises(InvalidScenario, match="'faults' must have at most 100"):
        parse_scenario({"faults": [{"route": "/", "kind": "503"}] * 101})
    with pytest.raises(InvalidScenario, match="'probability'|'faults\\[0\\].probability'"):
        parse_scenario({"faults": [{"route": "/", "kind": "503", "probability": True}]})


def test_partition_type_and_schema_version_are_scenario_choices() -> None:
    scenario = parse_scenario({"partitionType": "Default", "schemaVersion": "1"})
    assert (scenario.partition_type, scenario.schema_version) == ("Default", "1")
    assert scenario.to_json() == {
        "progression": "immediate",
        "partitionType": "Default",
        "schemaVersion": "1",
        "seed": 0,
    }
    assert parse_scenario({}).partition_type is None  # the stored "default" / "2" apply
    for key, bad in (("partitionType", "items"), ("schemaVersion", 2), ("schemaVersion", "3")):
        with pytest.raises(InvalidScenario) as info:
            parse_scenario({key: bad})
        assert info.value.key == key
