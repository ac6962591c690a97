"""Export processes, the parts that need no process: chunk realignment, tasks, the setting."""

from __future__ import annotations

import os

import pytest

from billport.billing.datasets import AttributeSet, Dataset
from billport.errors import ConfigurationError
from billport.exports.blob_tasks import BATCH_ROWS, plan_tasks, realign
from billport.exports.layout import Scope
from billport.settings import Settings, load_settings


def rows(count: int, start: int = 0) -> list[bytes]:
    return [b"%d" % n for n in range(start, start + count)]


def test_realign_cuts_the_first_batch_short_and_the_rest_full() -> None:
    batches = [rows(BATCH_ROWS), rows(BATCH_ROWS, BATCH_ROWS), rows(700, 2 * BATCH_ROWS)]
    out = list(realign(iter(batches), 500))
    assert [len(b) for b in out] == [500, BATCH_ROWS, BATCH_ROWS, 200]
    assert [r for b in out for r in b] == rows(2 * BATCH_ROWS + 700)


def test_realign_passes_aligned_batches_through() -> None:
    batches = [rows(BATCH_ROWS), rows(3, BATCH_ROWS)]
    assert list(realign(iter(batches), BATCH_ROWS)) == batches


def test_tasks_cover_the_ranges_in_order_with_names_and_offsets() -> None:
    scope = Scope("t", Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, 202610, "G1")
    tasks = plan_tasks(
        Settings(),
        b"key",
        scope,
        [10, 20, 35],
        50,
        staging_key="op",
        root="c/root",
        blob_rows=1_500,
        first_blob=4,
    )
    assert [t.ids for t in tasks] == [(10, 20), (20, 35), (35, 50)]
    assert [t.index for t in tasks] == [4, 5, 6]
    assert [t.name[:10] for t in tasks] == ["part-00004", "part-00005", "part-00006"]
    assert len({t.name for t in tasks}) == 3
    assert [t.rows_before for t in tasks] == [0, 1_500, 3_000]


def test_export_processes_default_to_the_cores_at_most_four() -> None:
    assert load_settings(environ={}).export_processes == min(os.cpu_count() or 1, 4)
    assert load_settings(environ={"BILLPORT_EXPORT_PROCESSES": "1"}).export_processes == 1


def test_export_processes_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="BILLPORT_EXPORT_PROCESSES"):
        load_settings(environ={"BILLPORT_EXPORT_PROCESSES": "0"})
