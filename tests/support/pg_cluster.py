"""A private PostgreSQL cluster a test may stop and restart (the shared one on 5432 it may not).

The server refuses to run as root, so ``initdb``/``pg_ctl`` run as the ``postgres`` system
user (``runuser``) on a data directory in a temp dir of their own, owned by that user (a
pytest ``tmp_path`` sits under a root-only directory). The cluster listens on a free
loopback port, keeps its unix socket inside the temp dir and trusts local connections;
:func:`private_cluster` always stops it (``-m immediate``) and removes the temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import free_port

BIN_DIR = Path(os.environ.get("BILLPORT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
COMMAND_SECONDS = 30  # any one initdb/pg_ctl call


def unavailable() -> str | None:
    """Why no private cluster can run here, or ``None``."""
    if not (BIN_DIR / "initdb").exists() or not (BIN_DIR / "pg_ctl").exists():
        return f"no PostgreSQL server binaries in {BIN_DIR}"
    if not Path(RUNUSER).exists():
        return "no runuser (util-linux) to run the server as the postgres user"
    if os.geteuid() != 0:
        return "needs root to run the server as the postgres user"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres system user"
    return None


class Cluster:
    """One private cluster: its URL, and stop/start/restart (each waits until done)."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.data, self.sockets, self.log = base / "data", base / "sockets", base / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [RUNUSER, "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{self.server_log()}")

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(BIN_DIR / "pg_ctl"), "-D", str(self.data), "-w", "-t", "20", *args)

    def init(self) -> None:
        self._run(
            str(BIN_DIR / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    def restart(self, down_seconds: float) -> None:
        """Stop (``fast``: sessions are ended), stay down ``down_seconds``, start again."""
        self.stop("fast")
        time.sleep(down_seconds)
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A fresh cluster, started; stopped (``-m immediate``) and removed whatever happens."""
    reason = unavailable()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    base = Path(tempfile.mkdtemp(prefix="billport-pg-"))
    cluster = Cluster(base, free_port())
    try:
        cluster.sockets.mkdir()
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(cluster.sockets, "postgres", "postgres")
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if cluster.running():
                cluster.stop("immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)
