"""``billport scenario``, ``billport requests`` and ``billport token --admin`` against a real
server running in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from billport.cli import main
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.factory import live_server
from tests.support.sandbox import sandbox_app, start_export
from tests.support.tokens import bearer

Server = tuple[str, Runtime, ManualClock]


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    with sandbox_app(settings) as (_, runtime, clock), live_server(runtime) as base:
        yield base, runtime, clock


def run(server: Server, *args: str, stdin: str | None = None, token: str | None = None) -> Result:
    base, runtime, _ = server
    admin = ["--server", base, "--admin-token", token or runtime.keys.admin_token]
    if args[0] == "scenario":
        command, rest = [args[0], args[1]], list(args[2:])
    else:
        command, rest = [args[0]], list(args[1:])
    return CliRunner().invoke(main, [*command, *admin, *rest], input=stdin, env={})


def test_scenario_set_show_reset(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "slow.json"
    path.write_text('{"progression": "polls:3", "retryAfter": 2}')
    result = run(server, "scenario", "set", str(path))
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["scenario"]["progression"] == "polls:3"
    result = run(server, "scenario", "set", "--tenant", data.OTHER_TENANT, "-", stdin='{"seed": 5}')
    assert result.exit_code == 0, result.output
    shown = orjson.loads(run(server, "scenario", "show", "--tenant", data.OTHER_TENANT).stdout)
    assert (shown["source"], shown["scenario"]["seed"]) == ("tenant", 5)
    server_view = orjson.loads(run(server, "scenario", "show").stdout)
    assert server_view["tenants"] == [data.OTHER_TENANT]
    reset = orjson.loads(run(server, "scenario", "reset").stdout)
    assert (reset["source"], reset["tenants"]) == ("default", [])


def test_scenario_errors_exit_2_with_the_server_message(server: Server) -> None:
    bad = run(server, "scenario", "set", "-", stdin='{"latencyMs": [9, 1]}')
    assert bad.exit_code == 2
    assert "'latencyMs'" in bad.stderr
    not_json = run(server, "scenario", "set", "-", stdin="{")
    assert not_json.exit_code == 2 and "not valid JSON" in not_json.stderr
    partner = bearer(server[1], None, data.TENANT)["Authorization"].split()[1]
    refused = run(server, "scenario", "show", token=partner)
    assert refused.exit_code == 2 and "HTTP 403" in refused.stderr


def test_requests_shows_the_log_and_checks_compliance(server: Server) -> None:
    import httpx

    base, runtime, clock = server
    with httpx.Client(base_url=base) as http:
        run(server, "scenario", "set", "-", stdin='{"progression": "polls:5", "retryAfter": 3}')
        location = start_export(http, runtime)
        headers = data.graph_headers(runtime)
        http.get(location, headers=headers)
        clock.advance(3)
        http.get(location, headers=headers)
        ok = run(server, "requests", "--check")
        assert ok.exit_code == 0, ok.output
        assert "PASS  test-client" in ok.stdout
        assert "retry-after=3" in ok.stdout
        http.get(location, headers=headers)  # at once: too early
    failed = run(server, "requests", "--compliance", "--check")
    assert failed.exit_code == 1
    assert "FAIL  test-client" in failed.stdout
    assert "told to wait 3s" in failed.stdout
    as_json = orjson.loads(run(server, "requests", "--json", "--limit", "2").stdout)
    assert len(as_json["requests"]["value"]) == 2
    assert as_json["compliance"]["compliant"] is False


def test_token_admin_prints_the_data_dirs_admin_token(settings: Settings) -> None:
    from billport.auth.keys import KeyRing

    store = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    keys = KeyRing.load_or_create(settings)  # what the server made when it started
    result = CliRunner().invoke(main, ["token", *store, "--admin"], env={})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == keys.admin_token
    pinned = CliRunner().invoke(
        main, ["token", *store, "--admin"], env={"BILLPORT_ADMIN_TOKEN": "s3"}
    )
    assert pinned.stdout.strip() == "s3"


def test_cli_reads_the_admin_token_from_the_data_dir(server: Server) -> None:
    base, runtime, _ = server
    args = ["scenario", "show", "--server", base, "--data-dir", str(runtime.settings.data_dir)]
    result = CliRunner().invoke(main, args, env={})
    assert result.exit_code == 0, result.output
    missing = CliRunner().invoke(main, [*args[:-1], "/nonexistent-billport"], env={})
    assert missing.exit_code == 2 and "no admin token" in missing.stderr
