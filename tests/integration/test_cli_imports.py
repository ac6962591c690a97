"""CLI start-up imports only what a command needs (issue 16: `--help`, `billport token`).

Each command runs in a fresh interpreter, which then reports the heavy modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVER_AND_DATA = ("fastapi", "starlette", "uvicorn", "pyarrow", "duckdb", "alembic", "sqlalchemy")
LAKE = ("billport.lake.sync", "billport.lake.verify", "billport.lake.catalog")
HEAVY = (*SERVER_AND_DATA, *LAKE, "httpx", "rich")
PROBE = """
import contextlib, io, json, sys
from billport.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:], prog_name="billport")
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def loaded(args: list[str], env: dict[str, str]) -> list[str]:
    code = PROBE.replace("{heavy}", repr(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {**os.environ, "BILLPORT_DATA_DIR": str(tmp_path / "data")}
    environ.pop("BILLPORT_DATABASE_URL", None)
    seeded = subprocess.run(
        [sys.executable, "-m", "billport", "seed", "--demo"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    return environ


def test_help_loads_no_server_or_data_library(env: dict[str, str]) -> None:
    # --help imports every command's module for its one-line help: the client commands'
    # httpx and rich come with them; the server's and the outputs' libraries, and the
    # lake's sync, verifier and catalog, must not.
    assert set(loaded(["--help"], env)) <= {"httpx", "rich"}


def test_token_reads_the_store_and_loads_nothing_else(env: dict[str, str]) -> None:
    for args in (["token"], ["token", "--audience", "partner-center"]):
        assert loaded(args, env) == ["sqlalchemy"], args  # the store's client lookup
