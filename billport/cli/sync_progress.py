"""The progress display of ``billport sync``: one line per export in flight, on stderr.

Each line shows the job (``billedUsage/G016907411``), its phase (requested, running,
downloading 2/5 parts, converting to Parquet) and its clock, and leaves once the job has
landed, printing one line with the outcome. As with ``billport export``, nothing is drawn
when stderr is not a terminal or with ``--quiet``.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from billport.cli.progress import count
from billport.client.export import ExportEvents
from billport.client.models import Blob, Manifest, Operation
from billport.lake.plan import Job, Plan
from billport.lake.run import Landing, SyncEvents


class SyncProgress:
    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not self.enabled,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._parts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._total = 0
        self._done = 0

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.progress.stop()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _planned(self, plan: Plan) -> None:
        self._total = len(plan.jobs)

    def _phase(self, job: Job, text: str) -> None:
        task = self._tasks.get(job.key)
        if task is not None:
            self.progress.update(task, phase=text)

    def _start(self, job: Job) -> None:
        with self._lock:
            self._tasks[job.key] = self.progress.add_task(job.key, total=None, phase="requesting")
            self._parts[job.key] = [0, 0]

    def _finish(self, landing: Landing) -> None:
        with self._lock:
            task = self._tasks.pop(landing.job.key, None)
            self._done += 1
            done = self._done
        if task is not None:
            self.progress.remove_task(task)
        if self.enabled:
            rows = f", {count(landing.rows)} rows" if landing.rows else ""
            self.progress.console.print(
                f"[{done}/{self._total}] {landing.job.key}: {landing.status}{rows}", highlight=False
            )

    def _export_events(self, job: Job) -> ExportEvents:
        parts = self._parts.setdefault(job.key, [0, 0])

        def manifest(m: Manifest) -> None:
            parts[1] = len(m.blobs)
            self._phase(job, f"downloading {count(parts[0])}/{count(parts[1])} parts")

        def part_done(blob: Blob, size: int) -> None:
            parts[0] += 1
            self._phase(job, f"downloading {count(parts[0])}/{count(parts[1])} parts")

        def polled(operation: Operation, elapsed: float) -> None:
            self._phase(job, str(operation.status))

        return ExportEvents(
            started=lambda url, resumed: self._phase(job, "resuming" if resumed else "requested"),
            polled=polled,
            manifest=manifest,
            part_done=part_done,
        )

    def events(self) -> SyncEvents:
        return SyncEvents(
            planned=self._planned,
            started=self._start,
            export_events=self._export_events,
            phase=self._phase,
            finished=self._finish,
        )
