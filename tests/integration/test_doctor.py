"""``billport doctor`` against a live billport: all ok with the development client, and a
token of the wrong audience named in words (exit 3), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from billport.cli import main
from billport.runtime import Runtime
from billport.settings import load_settings
from tests.support.data import DEMO_TENANT, seed_demo
from tests.support.factory import live_server, opened
from tests.support.tokens import token

pytestmark = pytest.mark.slow  # a demo store and a server per test


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[Runtime, str]]:
    # The real clock (not the suite's pinned one): doctor compares tokens with this machine's.
    settings = load_settings(
        environ={}, data_dir=tmp_path / "data", database_url=database_url, worker=False
    )
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        with live_server(runtime) as url:
            yield runtime, url


def doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", *args])
    return result.exit_code, result.output


def test_the_development_client_checks_out(served: tuple[Runtime, str]) -> None:
    runtime, url = served
    settings = runtime.settings
    code, output = doctor("--server", url, "--data-dir", str(settings.data_dir),
                          "--database-url", settings.effective_database_url)  # fmt: skip
    assert code == 0, output
    lines = output.splitlines()
    assert all(line.startswith("ok") for line in lines), output
    assert any("Partner Center: app-only token" in line for line in lines)
    assert any(line.startswith("ok    Graph beta:") and "HTTP 404" in line for line in lines)
    assert any("clock: within" in line for line in lines)


def test_a_token_for_the_wrong_api_is_named(served: tuple[Runtime, str]) -> None:
    runtime, url = served
    partner_center = token(runtime, None, DEMO_TENANT, "partner-center")
    code, output = doctor("--server", url, "--token", partner_center, "--tenant", DEMO_TENANT)
    assert code == 3, output
    assert "ok    Partner Center: app-only token" in output
    assert (
        "FAIL  Graph: the token is for 'https://api.partnercenter.microsoft.com', "
        "not https://graph.microsoft.com"
    ) in output
    assert "FAIL  Graph: " in output and "HTTP 401" in output
