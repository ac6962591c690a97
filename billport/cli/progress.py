"""The export's progress display (rich, on stderr): state, elapsed, bytes, ETA, rows."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from billport.client.export import ExportEvents
from billport.client.models import Blob, Manifest, Operation


class ExportProgress:
    """One line that follows the export: waiting on the operation, downloading, writing."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[state]}"),
            TimeElapsedColumn(),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rows]}"),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.task: TaskID = self.progress.add_task("export", total=None, state="starting", rows="")
        self._lock = threading.Lock()
        self._total = 0
        self._blobs = 0
        self._done = 0
        self.bytes = 0

    def __enter__(self) -> ExportProgress:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def state(self, text: str) -> None:
        self.progress.update(self.task, state=text)

    def rows(self, count: int) -> None:
        self.progress.update(self.task, rows=f"{count:,} rows")

    def _started(self, url: str, resumed: bool) -> None:
        self.state("resuming" if resumed else "requested")
        if resumed:
            self.console.print(f"resuming operation {url}", highlight=False)

    def _polled(self, operation: Operation, elapsed: float) -> None:
        self.state(f"{operation.status} ({elapsed:.0f} s)")

    def _manifest(self, manifest: Manifest) -> None:
        self._blobs = len(manifest.blobs)
        self.state(f"downloading 0/{self._blobs} parts")

    def _bytes(self, count: int) -> None:
        with self._lock:
            self.bytes += count
        self.progress.advance(self.task, count)

    def _size(self, blob: Blob, size: int) -> None:
        with self._lock:
            self._total += size
            total = self._total
        self.progress.update(self.task, total=total)

    def _part_done(self, blob: Blob, size: int) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        self.state(f"downloading {done}/{self._blobs} parts")

    def events(self) -> ExportEvents:
        return ExportEvents(
            started=self._started,
            polled=self._polled,
            manifest=self._manifest,
            bytes=self._bytes,
            part_done=self._part_done,
            size=self._size,
        )
