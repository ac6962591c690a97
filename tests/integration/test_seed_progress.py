"""``billport seed`` shows its progress on a terminal only; the seed use case counts rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from billport.cli import main
from billport.runtime import open_runtime
from billport.settings import Settings
from billport.usecases.admin import SeedRequest, seed

SMALL = dict(line_items=3_000, tenants=1, customers=3, months=2)


@pytest.mark.parametrize("parallel", [False, True])
def test_on_rows_counts_every_stored_line_item(settings: Settings, parallel: bool) -> None:
    """Per job on SQLite and unforked PostgreSQL, per batch when PostgreSQL rows are forked."""
    runtime = open_runtime(settings)
    seen: list[int] = []
    try:
        request = SeedRequest(**SMALL, parallel=parallel)
        seeded = seed(runtime.db, runtime.blobs, runtime.clock(), request, on_rows=seen.append)
    finally:
        runtime.db.dispose()
    assert seeded.store is not None
    assert seen[-1] == seeded.store.total_line_items == SMALL["line_items"]
    assert seen == sorted(seen) and len(seen) >= 2


def seed_args(tmp_path: Path) -> list[str]:
    args = ["seed", "--data-dir", str(tmp_path / "data")]
    return args + [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):  # rich's terminal overrides
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_seed_is_quiet_in_a_pipe(tmp_path: Path, plain_env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(main, seed_args(tmp_path), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert re.search(r"^seeded 1 tenants, \d+ invoices, 3,000 line items in \d+\.\d s "
                     r"\([\d,]+ rows/s\)$", result.stdout, re.M), result.stdout  # fmt: skip


def test_seed_shows_progress_on_a_terminal(tmp_path: Path, plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("TTY_COMPATIBLE", "1")  # what a terminal on stderr looks like to rich
    result = CliRunner().invoke(main, seed_args(tmp_path), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "seeding" in result.stderr
    assert "3,000 of 3,000 line items" in result.stderr
    assert re.search(r"\d+\.\d s", result.stderr)
