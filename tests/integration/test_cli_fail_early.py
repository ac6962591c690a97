"""Client commands fail early and clearly: an output that cannot be written, a server that is
not running, no local store, a port already in use.

No test here times the machine: "within 2 s" holds because a refused connection is tried
once (attempts are counted), not because a clock says so.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from billport.cli import main
from billport.cli.listen import PORT_IN_USE, PortInUse, listening_socket
from billport.settings import Settings
from billport.store.db import Database
from tests.support.tokens import PARTNER_TENANT, make_partner

CLIENT_COMMANDS = {
    "invoices list": ["invoices", "list"],
    "invoices show": ["invoices", "show", "G000000001"],
    "export": ["export", "billed-reconciliation", "--invoice", "G1", "-o", "out.jsonl", "-q"],
    "reconcile": ["reconcile", "--invoice", "G000000001", "-q"],
    "line-items": ["line-items", "G000000001", "-o", "out.jsonl"],
}
ADMIN_COMMANDS = {
    "scenario show": ["scenario", "show"],
    "scenario reset": ["scenario", "reset"],
    "requests": ["requests"],
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BILLPORT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request any httpx client of the CLI sends over the network."""
    seen: list[str] = []
    original = httpx.HTTPTransport.handle_request

    def counting(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return original(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", counting)
    return seen


@pytest.fixture
def closed_url() -> str:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, to check that nothing is left in it."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def unreachable(url: str) -> str:
    return f"billport: error: cannot reach {url} — is `billport serve` running?\n"


# --- a server that is not running ---------------------------------------------------------


@pytest.mark.parametrize("command", list(CLIENT_COMMANDS))
def test_client_commands_report_a_stopped_server_after_one_attempt(
    command: str, closed_url: str, attempts: list[str], workdir: Path
) -> None:
    result = run(*CLIENT_COMMANDS[command], "--server", closed_url, "--token", "t")
    assert result.exit_code == 4, result.output
    assert result.stderr.endswith(unreachable(closed_url))  # after the progress line, if any
    assert "Error(" not in result.stderr  # never a Python repr
    assert len(attempts) == 1  # refused is not retried as if transient
    assert list(workdir.iterdir()) == []  # no parts folder, state file or store


@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
def test_admin_commands_report_a_stopped_server_after_one_attempt(
    command: str, closed_url: str, attempts: list[str], workdir: Path
) -> None:
    result = run(*ADMIN_COMMANDS[command], "--server", closed_url, "--admin-token", "t")
    assert result.exit_code == 4, result.output
    assert result.stderr == unreachable(closed_url)
    assert len(attempts) == 1
    assert list(workdir.iterdir()) == []


def test_dev_credentials_sign_locally_and_report_a_stopped_server(
    settings: Settings, database: Database, closed_url: str, attempts: list[str]
) -> None:
    from billport.auth.keys import KeyRing

    KeyRing.load_or_create(settings)  # the server's keys sign the dev client's tokens
    make_partner(database, PARTNER_TENANT, is_default=True)
    store = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    result = run("invoices", "list", "--server", closed_url, *store)
    assert result.exit_code == 4, result.output
    assert result.stderr == unreachable(closed_url)
    assert len(attempts) == 1 and attempts[0].startswith(f"GET {closed_url}/v1/invoices")


# --- no local store -------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(CLIENT_COMMANDS))
def test_client_commands_without_a_store_say_where_they_looked(
    command: str, closed_url: str, attempts: list[str], workdir: Path
) -> None:
    result = run(*CLIENT_COMMANDS[command], "--server", closed_url)
    assert result.exit_code == 3, result.output
    looked = workdir / "billport-data" / "billport.db"
    assert f"no billport store at {looked}: pass --data-dir of the server" in result.stderr
    assert attempts == []
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no billport store at {cwd}/billport-data/billport.db: pass --data-dir of the server"),
        (
            ["--database-url", "sqlite:///elsewhere.db"],
            "no billport store at {cwd}/elsewhere.db: pass --data-dir of the server",
        ),
        (
            ["--admin"],
            "no admin token at {cwd}/billport-data/keys/admin-token: pass --data-dir of the "
            "server, or set BILLPORT_ADMIN_TOKEN",
        ),
    ],
)
def test_token_never_creates_a_store(workdir: Path, args: list[str], message: str) -> None:
    result = run("token", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"billport: error: {message.format(cwd=workdir)}\n"
    assert list(workdir.iterdir()) == []


def test_admin_commands_without_a_token_say_where_they_looked(
    closed_url: str, attempts: list[str], workdir: Path
) -> None:
    result = run("scenario", "show", "--server", closed_url)
    assert result.exit_code == 2, result.output
    looked = workdir / "billport-data" / "keys" / "admin-token"
    assert f"no admin token at {looked}: pass --data-dir of the server" in result.stderr
    assert attempts == []
    assert list(workdir.iterdir()) == []


# --- an output that cannot be written ------------------------------------------------------


def test_duckdb_output_without_the_analytics_extra_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch, closed_url: str, attempts: list[str], workdir: Path
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb raises ImportError
    result = run(
        "export", "billed-reconciliation", "--invoice", "G1", "-o", "out.duckdb",
        "--server", closed_url, "--token", "t",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "billport: error: a .duckdb output needs 'duckdb', which is not installed: "
        "pip install 'billport[analytics]'\n"
    )
    assert attempts == []
    assert list(workdir.iterdir()) == []


# --- a port already in use ----------------------------------------------------------------


def test_serve_on_a_port_in_use_exits_with_its_own_code_before_the_banner(
    workdir: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--demo", "--host", "127.0.0.1", "--port", str(port),
                     "--data-dir", "data")  # fmt: skip
    assert result.exit_code == PORT_IN_USE == 5
    assert result.stdout == ""  # no banner, no token
    assert result.stderr.startswith(f"billport: error: 127.0.0.1:{port} is already in use")
    assert "--port" in result.stderr
    assert list(workdir.iterdir()) == []  # the store was not even opened


def test_the_listening_socket_claims_its_port_at_once() -> None:
    first = listening_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        # A second SO_REUSEADDR bind would succeed until the first one listens.
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port} is already in use"):
            listening_socket("127.0.0.1", port).close()
    finally:
        first.close()
    listening_socket("127.0.0.1", port).close()  # free again once closed
