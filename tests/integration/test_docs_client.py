"""docs/client.md's library example runs as written against a live local server.

Every ```python block of the page runs, in order, in one namespace, with the demo tenant's
credentials in the environment the page names. A block right after a
``<!-- docs-test: skip (...) -->`` comment is not run (it needs Microsoft's service); at most
one may be skipped, so a marker cannot quietly switch the test off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billport.runtime import Runtime
from billport.seed.demo import DEMO_INVOICE, DEMO_TENANT, seed_demo_dataset
from billport.settings import load_settings
from billport.store.clients import clients_of_tenant, rotate_secret
from tests.support.factory import live_server, opened

PAGE = Path(__file__).resolve().parents[2] / "docs" / "client.md"
BLOCK = re.compile(r"(<!-- docs-test: skip[^>]*-->\n)?```python\n(.*?)```", re.S)


def python_blocks(text: str) -> tuple[list[str], int]:
    """The blocks to run, and how many were skipped."""
    found = BLOCK.findall(text)
    return [code for skip, code in found if not skip], sum(1 for skip, _ in found if skip)


def test_blocks_are_found_and_the_marker_skips_one() -> None:
    text = "```python\na = 1\n```\n<!-- docs-test: skip (x) -->\n```python\nb = 2\n```\n"
    assert python_blocks(text) == (["a = 1\n"], 1)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'billport.db'}",
        now="2026-11-21T12:00:00Z",
        worker=False,
    )
    with opened(settings, retry_after=1) as runtime:
        seed_demo_dataset(runtime.db, runtime.clock())
        yield runtime


def test_library_example_runs_against_a_local_server(
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks, skipped = python_blocks(PAGE.read_text("utf-8"))
    assert blocks and skipped <= 1
    with runtime.db.begin() as conn:  # the store keeps hashes: a new secret, known here
        client = rotate_secret(conn, clients_of_tenant(conn, DEMO_TENANT)[0].client_id)
    assert client is not None and client.secret
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with live_server(runtime, worker=True) as base:
        monkeypatch.setenv("BILLPORT_SERVER", base)
        monkeypatch.setenv("BILLPORT_TENANT", DEMO_TENANT)
        monkeypatch.setenv("BILLPORT_CLIENT_ID", client.client_id)
        monkeypatch.setenv("BILLPORT_CLIENT_SECRET", client.secret)
        namespace: dict[str, Any] = {"__name__": "docs_client"}
        try:
            for code in blocks:
                exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102 - the docs' code
        finally:  # a script's exit would close it; the test process goes on
            if "http" in namespace:
                namespace["http"].close()
    out = capsys.readouterr().out
    total = namespace["total"]
    assert isinstance(total, Decimal) and total != 0
    assert f"{DEMO_INVOICE}: " in out and f"line items total {total}" in out
    listed = [
        line.split()[0] for line in out.splitlines() if not line.startswith(DEMO_INVOICE + ":")
    ]
    assert DEMO_INVOICE in listed
    assert list(work.iterdir()) == []  # run.finish() removed the parts and the state file
