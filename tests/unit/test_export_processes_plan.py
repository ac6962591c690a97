"""Export processes, the parts that need no process: tasks and the setting."""

from __future__ import annotations

import os

import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.scopes import Scope
from billport.errors import ConfigurationError
from billport.exports.blob_tasks import plan_tasks
from billport.exports.ranges import BlobRange
from billport.settings import Settings, load_settings


def test_tasks_cover_the_ranges_in_order_with_names() -> None:
    scope = Scope("t", Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, 202610, "G1")
    target = BlobRange(scope, (10, 50), "c/root", "op", blob_rows=1_500, first_blob=4)
    tasks = plan_tasks(Settings(), b"key", target, [10, 20, 35], 50)
    assert [t.target.ids for t in tasks] == [(10, 20), (20, 35), (35, 50)]
    assert [t.index for t in tasks] == [4, 5, 6]
    assert [t.name[:10] for t in tasks] == ["part-00004", "part-00005", "part-00006"]
    assert len({t.name for t in tasks}) == 3
    assert {(t.target.blob_rows, t.target.root, t.target.staging_key) for t in tasks} == {
        (1_500, "c/root", "op")
    }


def test_export_processes_default_to_half_the_cores_at_most_four(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for cores, expected in ((1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, 4)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert load_settings(environ={}).export_processes == expected
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert load_settings(environ={}).export_processes == 1
    assert load_settings(environ={"BILLPORT_EXPORT_PROCESSES": "1"}).export_processes == 1


def test_export_processes_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="BILLPORT_EXPORT_PROCESSES"):
        load_settings(environ={"BILLPORT_EXPORT_PROCESSES": "0"})
