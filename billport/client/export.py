"""One export from request to downloaded parts, resumable through a small state file.

The state file (JSON, replaced atomically) records the request, the operation URL once the
service accepted it, the manifest once the operation succeeded, and each blob once it is
complete. A run that stops anywhere (Ctrl-C, network, timeout) can be resumed: it waits on
the same operation instead of starting a new one, and downloads only what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billport.client.download import BlobDownloader
from billport.client.errors import ClientError, RemoteError
from billport.client.graph import GraphClient
from billport.client.models import Blob, ExportRequest, Manifest, Operation

STATE_VERSION = 1


@dataclass
class ExportState:
    request: dict[str, str]
    operation_url: str | None = None
    manifest: dict[str, Any] | None = None
    parts: dict[str, int] = field(default_factory=dict)  # finished blob name -> size

    def save(self, path: Path) -> None:
        body = {
            "version": STATE_VERSION,
            "request": self.request,
            "operationUrl": self.operation_url,
            "manifest": self.manifest,
            "parts": self.parts,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(body, indent=1), "utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ExportState:
        try:
            body = json.loads(path.read_text("utf-8"))
            if body.get("version") != STATE_VERSION:
                raise ValueError(f"unknown state version {body.get('version')!r}")
            return cls(body["request"], body.get("operationUrl"), body.get("manifest"),
                       dict(body.get("parts") or {}))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ClientError(f"cannot resume from {path}: {exc}") from exc


@dataclass
class ExportEvents:
    """Callbacks for a progress display; all optional."""

    started: Callable[[str, bool], None] = lambda url, resumed: None
    polled: Callable[[Operation, float], None] = lambda op, elapsed: None
    manifest: Callable[[Manifest], None] = lambda manifest: None
    bytes: Callable[[int], None] = lambda n: None
    part_done: Callable[[Blob, int], None] = lambda blob, size: None
    size: Callable[[Blob, int], None] = lambda blob, size: None  # a blob's full size


@dataclass
class WaitOptions:
    timeout: float = 3600.0
    min_interval: float = 0.1
    max_interval: float = 60.0


class ExportRun:
    """Run ``request`` with its parts in ``workdir`` and its state in ``state_path``."""

    def __init__(
        self,
        graph: GraphClient,
        request: ExportRequest,
        workdir: Path,
        state_path: Path,
        *,
        events: ExportEvents | None = None,
        wait: WaitOptions | None = None,
        workers: int = 4,
    ) -> None:
        self.graph = graph
        self.request = request
        self.workdir = workdir
        self.state_path = state_path
        self.events = events or ExportEvents()
        self.wait_options = wait or WaitOptions()
        self.workers = workers
        self._lock = threading.Lock()
        self.state = ExportState(request.to_json())

    def _save(self) -> None:
        with self._lock:
            self.state.save(self.state_path)

    def prepare(self, resume: bool) -> bool:
        """Load resumable state (True) or start clean, discarding an old run's files."""
        if resume and self.state_path.exists():
            state = ExportState.load(self.state_path)
            if state.request != self.request.to_json():
                raise ClientError(
                    f"{self.state_path} is for another export ({state.request}); "
                    "run without --resume to start this one"
                )
            self.state = state
            return True
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.state_path.unlink(missing_ok=True)
        return False

    def run(self, resume: bool = False) -> tuple[Manifest, list[Path]]:
        """The manifest and the downloaded part files, in manifest order."""
        resumed = self.prepare(resume)
        manifest = self._manifest(resumed)
        # Only now: a service that never answered leaves no empty parts directory behind.
        self.workdir.mkdir(parents=True, exist_ok=True)
        downloader = BlobDownloader(
            self.graph.http,
            self.workdir,
            refresh=lambda: self.graph.fresh_manifest(str(self.state.operation_url)),
            workers=self.workers,
            on_bytes=self.events.bytes,
            on_done=self._part_done,
            on_size=self.events.size,
        )
        return manifest, downloader.download(manifest)

    def _part_done(self, blob: Blob, size: int) -> None:
        with self._lock:
            self.state.parts[blob.name] = size
            self.state.save(self.state_path)
        self.events.part_done(blob, size)

    def _manifest(self, resumed: bool) -> Manifest:
        if self.state.manifest is not None:
            self.events.started(str(self.state.operation_url), True)
            manifest = Manifest.from_json(self.state.manifest)
            self.events.manifest(manifest)
            return manifest
        if self.state.operation_url is None:
            self._start(resumed=False)
        else:
            self.events.started(self.state.operation_url, True)
        try:
            operation = self._wait()
        except RemoteError as exc:
            if not resumed or exc.status not in (404, 410):
                raise
            self._start(resumed=False)  # the saved operation expired: ask again
            operation = self._wait()
        manifest = self.graph.manifest(operation)
        self.state.manifest = manifest.raw
        self._save()
        self.events.manifest(manifest)
        return manifest

    def _start(self, resumed: bool) -> None:
        self.state.operation_url = self.graph.start_export(self.request)
        self._save()
        self.events.started(self.state.operation_url, resumed)

    def _wait(self) -> Operation:
        options = self.wait_options
        return self.graph.wait(
            str(self.state.operation_url),
            timeout=options.timeout,
            progress=self.events.polled,
            min_interval=options.min_interval,
            max_interval=options.max_interval,
        )

    def finish(self) -> None:
        """Remove the parts and the state once the output is written."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)
