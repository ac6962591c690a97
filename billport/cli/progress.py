"""Progress on stderr (rich): one line with a spinner, the phase, one clock and its detail.

Every phase of a command shows on the same line, under one spinner and one clock that keep
moving until the command ends, so a long step never looks hung: waiting on the operation
(its status), downloading (bar, bytes, speed, ETA, parts), then writing or converting the
output and reconciling (rows counted). The line shows only on a terminal; in a pipe or a
file (and with ``--quiet``) nothing is drawn. Numbers are formatted by :func:`count`,
:func:`size` and :func:`duration`, which the commands' summaries use too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Self, TypeVar

from rich.console import Console, RenderableType
from rich.filesize import decimal
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from billport.client.export import ExportEvents
from billport.client.models import Blob, Manifest, Operation

T = TypeVar("T")
COUNT_EVERY = 1_000  # rows between two updates of a counted phase


def count(number: int) -> str:
    """``12,345``: every row and part count, in progress and summaries alike."""
    return f"{number:,}"


def size(number: int) -> str:
    """``1.2 MB`` (decimal units, as the download bar shows them)."""
    return decimal(number)


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 min 07 s``, ``1 h 02 min``: the clock and the summaries."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class ClockColumn(ProgressColumn):
    """The one running clock: time since the line started, until it stops."""

    def render(self, task: Task) -> Text:
        return Text(duration(task.elapsed or 0.0), style="progress.elapsed")


class DetailColumn(ProgressColumn):
    """What the phase is doing: the transfer while downloading, else rows counted."""

    def render(self, task: Task) -> RenderableType:
        fields = task.fields
        if fields["transfer"]:
            total = fields["bytes_total"] or None
            grid = Table.grid(padding=(0, 1))
            cells: list[RenderableType] = [
                ProgressBar(total=total, completed=task.completed, width=24),
                Text(f"{size(int(task.completed))}/{size(total)}" if total
                     else size(int(task.completed)), style="progress.download"),
            ]  # fmt: skip
            speed = task.speed
            if speed:
                cells.append(Text(f"{size(int(speed))}/s", style="progress.data.speed"))
                if total:
                    left = max(total - task.completed, 0) / speed
                    cells.append(Text(f"ETA {duration(left)}", style="progress.remaining"))
            grid.add_row(*cells)
            return grid
        rows = fields["rows"]
        return Text("" if rows is None else f"{count(rows)} {fields['unit']}")


class PhaseProgress:
    """A line that shows phases one after another (``phase``), counting rows where asked.

    ``enabled`` is false with ``--quiet``; the line also stays off when ``console`` is not a
    terminal. ``clock`` (seconds, monotonic) and ``auto_refresh`` are for tests.
    """

    def __init__(
        self,
        console: Console,
        *,
        enabled: bool = True,
        clock: Callable[[], float] | None = None,
        auto_refresh: bool = True,
    ) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("[bold]{task.fields[phase]}"),
            ClockColumn(),
            DetailColumn(),
            console=console,
            disable=not self.enabled,
            transient=False,
            get_time=clock,
            auto_refresh=auto_refresh,
            refresh_per_second=10,
        )
        # total=None: the task never "finishes", so the spinner and the clock never freeze.
        self.task: TaskID = self.progress.add_task(
            "", total=None, phase="starting", rows=None, unit="rows", transfer=False, bytes_total=0
        )

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
        """Seconds on the clock: what the summary prints."""
        return self.progress.tasks[0].elapsed or 0.0

    def phase(self, text: str, *, rows: int | None = None, unit: str = "rows") -> None:
        """Show ``text``; with ``rows``, a row count (updated by :meth:`rows`)."""
        self.progress.update(self.task, phase=text, rows=rows, unit=unit, transfer=False)

    def state(self, text: str) -> None:
        """The phase's text only (the detail stays)."""
        self.progress.update(self.task, phase=text)

    def rows(self, number: int) -> None:
        self.progress.update(self.task, rows=number)

    def counted(self, items: Iterable[T], text: str, *, unit: str = "rows") -> Iterator[T]:
        """``items`` unchanged, counted on the line under phase ``text``."""
        self.phase(text, rows=0, unit=unit)
        number = 0
        for item in items:
            yield item
            number += 1
            if number % COUNT_EVERY == 0:
                self.rows(number)
        self.rows(number)


class ExportProgress(PhaseProgress):
    """The export's line: waiting on the operation, downloading, then the caller's phases."""

    def __init__(
        self,
        console: Console,
        *,
        enabled: bool = True,
        clock: Callable[[], float] | None = None,
        auto_refresh: bool = True,
    ) -> None:
        super().__init__(console, enabled=enabled, clock=clock, auto_refresh=auto_refresh)
        self._lock = threading.Lock()
        self._total = 0
        self._blobs = 0
        self._done = 0
        self.bytes = 0

    def _started(self, url: str, resumed: bool) -> None:
        self.phase("resuming" if resumed else "requested")
        if resumed:
            self.console.print(f"resuming operation {url}", highlight=False)

    def _polled(self, operation: Operation, elapsed: float) -> None:
        self.phase(str(operation.status))  # the clock already shows the time

    def _manifest(self, manifest: Manifest) -> None:
        self._blobs = len(manifest.blobs)
        self.progress.update(self.task, transfer=True, phase=self._downloading())

    def _downloading(self) -> str:
        return f"downloading {count(self._done)}/{count(self._blobs)} parts"

    def _bytes(self, number: int) -> None:
        with self._lock:
            self.bytes += number
        self.progress.advance(self.task, number)

    def _size(self, blob: Blob, number: int) -> None:
        with self._lock:
            self._total += number
            total = self._total
        self.progress.update(self.task, bytes_total=total)

    def _part_done(self, blob: Blob, number: int) -> None:
        with self._lock:
            self._done += 1
        self.progress.update(self.task, phase=self._downloading())

    def events(self) -> ExportEvents:
        return ExportEvents(
            started=self._started,
            polled=self._polled,
            manifest=self._manifest,
            bytes=self._bytes,
            part_done=self._part_done,
            size=self._size,
        )


WRITING = {
    "jsonl": "writing JSONL",
    "jsonl.gz": "writing JSONL.gz",
    "csv": "writing CSV",
    "parquet": "converting to Parquet",
    "duckdb": "converting to DuckDB",
}


def writing_phase(fmt: str) -> str:
    """The phase that turns downloaded parts into an output of format ``fmt``."""
    return WRITING.get(fmt, f"writing {fmt}")
