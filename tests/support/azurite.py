"""Azurite, the Azure Storage emulator from npm, as a session fixture; and the blob-backend matrix.

Azurite is started once per test session on a free loopback port with a temporary workspace
and stopped by its pid at the end. It is installed by ``npm ci`` from the repository's
``package.json``; when it is missing the Azure tests *fail* (CI must never skip them
silently) unless ``BILLPORT_TEST_AZURE=0`` asks to skip them, e.g. for a quick local loop.

``blob_backend`` parametrises a test over the local and the Azure backend and gives the
settings overrides that select it; every Azure test gets a container of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
AZURE_ENABLED = os.environ.get("BILLPORT_TEST_AZURE", "1") != "0"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob endpoint."""

    port: int
    pid: int

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.account_url};"
        )


@dataclass(frozen=True)
class BlobBackend:
    """Which backend a parametrised test runs on, as settings overrides."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    azurite: Azurite | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def start_azurite(location: Path, log: Path) -> tuple[Azurite, subprocess.Popen[bytes]]:
    """Start ``azurite-blob`` and wait (bounded) until it accepts connections."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(
            f"Azurite is not installed ({AZURITE_BIN} is missing): run "
            "`npm ci --no-audit --no-fund` in the repository root, or set "
            "BILLPORT_TEST_AZURE=0 to skip the Azure Blob Storage tests"
        )
    port = free_port()
    args = [str(AZURITE_BIN), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    args += ["--location", str(location), "--silent", "--skipApiVersionCheck", "--loose"]
    args += ["--disableTelemetry"]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=location)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"Azurite did not start on port {port}: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return Azurite(port=port, pid=process.pid), process


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite per session (a second start would cost CI time for nothing)."""
    if not AZURE_ENABLED:
        pytest.skip("Azure Blob Storage tests disabled (BILLPORT_TEST_AZURE=0)")
    location = tmp_path_factory.mktemp("azurite")
    try:
        running, process = start_azurite(location, location.parent / "azurite.log")
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield running
    finally:
        _stop(process)


def azure_overrides(azurite: Azurite) -> dict[str, Any]:
    """Settings selecting Azurite with a fresh container, so tests never see each other's blobs."""
    return {
        "blob_backend": "azure",
        "azure_connection_string": azurite.connection_string,
        "azure_container": f"t-{uuid.uuid4().hex}",
    }


@pytest.fixture(params=["local", pytest.param("azure", marks=pytest.mark.azure)])
def blob_backend(request: pytest.FixtureRequest) -> BlobBackend:
    """Parametrises a test over the local directory and Azure Blob Storage (Azurite)."""
    if request.param == "local":
        return BlobBackend("local")
    running: Azurite = request.getfixturevalue("azurite")
    return BlobBackend("azure", azure_overrides(running), running)
