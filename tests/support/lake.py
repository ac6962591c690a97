"""A live billport for ``billport sync`` tests: the app on a socket with its worker, the CLI's
arguments against it, and the calls its request log recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi import FastAPI

from billport.cli import main
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.request_log import recent_requests
from tests.support.factory import app_for, opened
from tests.support.live_server import serve_in_thread

LOG_WAIT = 2.0  # seconds the request log may take to record the last calls


@dataclass
class Live:
    runtime: Runtime
    app: FastAPI
    url: str

    def args(self, lake: Path, *extra: str) -> list[str]:
        """``billport sync`` against this server, JSON lines on stdout."""
        return ["sync", "--lake", str(lake), *self.target(), "--log-format", "json", *extra]

    def target(self) -> list[str]:
        settings = self.runtime.settings
        return [
            "--server", self.url, "--data-dir", str(settings.data_dir),
            "--database-url", settings.effective_database_url, "--poll-max", "0.05",
        ]  # fmt: skip

    def logged(self) -> list[tuple[str, str]]:
        """Every call the server logged so far, as (method, path)."""
        recorder = self.app.state.request_log
        deadline = time.monotonic() + LOG_WAIT
        while True:
            recorder.flush()
            with self.runtime.db.connect() as conn:
                calls = [(r.method, r.path) for r in recent_requests(conn)]
            if time.monotonic() > deadline or calls:
                return calls
            time.sleep(0.05)


@contextmanager
def live_billport(settings: Settings, load: Callable[[Runtime], object]) -> Iterator[Live]:
    """The app over ``settings`` with data ``load`` put in, on a loopback port with a worker.

    The caller sets ``BILLPORT_NOW`` to ``settings.now``: the CLI's development credential
    signs tokens at its own clock, which must be the server's pinned one."""
    with opened(settings, worker_poll_seconds=0.02) as runtime:
        load(runtime)
        app = app_for(runtime, worker=True)
        with serve_in_thread(app) as url:
            yield Live(runtime, app, url)


def run_sync(live: Live, lake: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    """Exit code and JSON lines of one ``billport sync``; the last line is the summary."""
    result = CliRunner().invoke(main, live.args(lake, *extra))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["event"] == "summary", result.output
    return result.exit_code, lines


def exports_requested(calls: list[tuple[str, str]]) -> list[str]:
    return [path for method, path in calls if method == "POST" and path.endswith("/export")]


def landed(lines: list[dict[str, Any]]) -> dict[str, str]:
    """``{job: status}`` of the jobs a run reported."""
    return {line["job"]: line["status"] for line in lines if line["event"] == "landed"}
