"""``write_output(on_rows=...)`` reports rows as they are written, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from billport.billing.datasets import AttributeSet
from billport.outputs import write_output
from billport.outputs.writer import COUNT_EVERY
from tests.integration.test_outputs_files import ALL_FORMATS, CAMEL, RECON, part


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_on_rows_counts_up_to_the_result(tmp_path: Path, suffix: str) -> None:
    rows = 2 * COUNT_EVERY + 7
    lines = [json.loads(CAMEL.replace('"c1"', f'"c{i}"')) for i in range(rows)]
    parts = [part(tmp_path / "a.json.gz", lines[:COUNT_EVERY]),
             part(tmp_path / "b.json", lines[COUNT_EVERY:], compress=False)]  # fmt: skip
    seen: list[int] = []
    result = write_output(
        parts,
        dataset=RECON,
        attribute_set=AttributeSet.FULL,
        output=tmp_path / f"out{suffix}",
        on_rows=seen.append,
    )
    assert result.rows == rows
    assert seen[-1] == rows and seen == sorted(seen)
    assert len(set(seen)) >= 2  # it moved while writing, not only at the end
