"""The progress line without a real terminal: an injected stream and clock, refreshed by hand."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from billport.cli.progress import (
    COUNT_EVERY,
    ExportProgress,
    PhaseProgress,
    count,
    duration,
    size,
    writing_phase,
)
from billport.client.models import Blob, Manifest, Operation

CLOCK = re.compile(r"\b\d+\.\d s\b|\b\d+ min \d\d s\b|\b\d+ h \d\d min\b")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)


def line(progress: PhaseProgress) -> str:
    """The line as it is drawn now (one render of the live table)."""
    out = Console(file=io.StringIO(), width=140, color_system=None)
    out.print(progress.progress.get_renderable())
    return str(out.file.getvalue()).strip()  # type: ignore[attr-defined]


def spinner(progress: PhaseProgress) -> str:
    return line(progress).split()[0]


def manifest(blobs: int) -> Manifest:
    return Manifest("op", "https://x", "sig=1", tuple(Blob(f"part-{i}") for i in range(blobs)))


def test_every_phase_shows_on_one_line_under_one_clock() -> None:
    clock = Clock()
    progress = ExportProgress(terminal(), clock=clock, auto_refresh=False)
    events = progress.events()
    events.started("https://x/op", False)
    assert line(progress).split()[1:3] == ["requested", "0.0"]
    clock.now += 3.0
    events.polled(Operation("https://x/op", "op", "running"), 3.0)
    assert "running 3.0 s" in line(progress)
    events.manifest(manifest(2))
    for blob in manifest(2).blobs:
        events.size(blob, 2_000)
    clock.now += 1.0
    events.bytes(1_000)
    drawn = line(progress)
    assert "downloading 0/2 parts 4.0 s" in drawn and "1.0 kB/4.0 kB" in drawn
    clock.now += 1.0
    events.bytes(3_000)
    for blob in manifest(2).blobs:
        events.part_done(blob, 2_000)
    assert "downloading 2/2 parts 5.0 s" in line(progress)
    clock.now += 2.0
    progress.phase(writing_phase("parquet"), rows=0)
    progress.rows(12_345)
    drawn = line(progress)
    assert "converting to Parquet 7.0 s 12,345 rows" in drawn and "kB" not in drawn
    clock.now += 65.0
    progress.phase("done", rows=12_346)
    assert "done 1 min 12 s 12,346 rows" in line(progress)
    assert progress.elapsed == pytest.approx(72.0)


def test_the_clock_is_never_printed_twice() -> None:
    clock = Clock()
    progress = ExportProgress(terminal(), clock=clock, auto_refresh=False)
    events = progress.events()
    clock.now += 42.0
    events.polled(Operation("https://x/op", "op", "notStarted"), 42.0)
    assert len(CLOCK.findall(line(progress))) == 1
    events.manifest(manifest(1))
    events.size(manifest(1).blobs[0], 10_000)
    events.bytes(5_000)
    clock.now += 1.0
    events.bytes(5_000)  # a speed and an ETA now show, but no second clock
    drawn = line(progress)
    assert "/s" in drawn and "ETA 0.0 s" in drawn
    assert len(CLOCK.findall(drawn.replace("ETA 0.0 s", ""))) == 1


def test_spinner_and_clock_keep_moving_after_the_bytes_are_down() -> None:
    """A finished download must not freeze the line while the output is written."""
    clock = Clock()
    progress = ExportProgress(terminal(), clock=clock, auto_refresh=False)
    events = progress.events()
    events.manifest(manifest(1))
    events.size(manifest(1).blobs[0], 1_000)
    events.bytes(1_000)
    events.part_done(manifest(1).blobs[0], 1_000)
    progress.phase(writing_phase("csv"), rows=0)
    frames, clocks = set(), set()
    for _ in range(5):
        clock.now += 0.25
        frames.add(spinner(progress))
        clocks.update(CLOCK.findall(line(progress)))
    assert len(frames) >= 3 and len(clocks) == 5


def test_counted_counts_every_item_and_updates_as_it_goes() -> None:
    progress = PhaseProgress(terminal(), clock=Clock(), auto_refresh=False)
    seen = []
    items = progress.counted(range(2 * COUNT_EVERY + 5), "reconciling")
    for number, _ in enumerate(items, 1):
        if number == COUNT_EVERY + 1:
            seen.append(line(progress))
    assert f"reconciling 0.0 s {count(COUNT_EVERY)} rows" in seen[0]
    assert f"{count(2 * COUNT_EVERY + 5)} rows" in line(progress)


def test_the_line_is_drawn_on_a_terminal_and_ends_with_the_last_phase() -> None:
    console = terminal()
    with ExportProgress(console, clock=Clock(), auto_refresh=False) as progress:
        progress.phase("done", rows=7)
    assert progress.enabled
    assert "done 0.0 s 7 rows" in console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("tty", [False, True])
def test_quiet_in_a_pipe_and_with_quiet(tty: bool) -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=tty, width=140)
    with ExportProgress(console, enabled=not tty, clock=Clock()) as progress:
        events = progress.events()
        events.started("https://x/op", True)  # the resume notice is not progress: it prints
        events.manifest(manifest(1))
        events.bytes(10)
        progress.phase("done", rows=3)
        progress.progress.refresh()
    assert not progress.enabled
    assert stream.getvalue() == "resuming operation https://x/op\n"
    assert progress.bytes == 10


def test_numbers_read_the_same_in_progress_and_summaries() -> None:
    assert count(1234567) == "1,234,567"
    assert size(4_000) == "4.0 kB" and size(1_500_000) == "1.5 MB"
    assert duration(4.25) == "4.2 s"
    assert duration(187) == "3 min 07 s" and duration(3725) == "1 h 02 min"
    assert writing_phase("jsonl.gz") == "writing JSONL.gz"
