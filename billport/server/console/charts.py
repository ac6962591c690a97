"""Small SVG charts drawn on the server: horizontal bars of amounts and a call timeline.

The templates draw the shapes computed here (``charts/*.html`` macros); nothing is fetched
by the browser, and amounts stay Decimal until they become pixel widths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billport.billing.money import format_money
from billport.store.request_log import LoggedRequest

BAR_WIDTH = 420  # px of the longest bar
BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 180
VALUE_WIDTH = 150
MAX_BARS = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # formatted money
    x: float  # where the bar starts (a negative amount extends left of zero)
    y: int
    width: float
    negative: bool
    flagged: bool


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    zero_x: float
    others: int  # slices not drawn (they are in the table)


def bar_chart(
    items: Sequence[tuple[str, Decimal, bool]], currency: str, limit: int = MAX_BARS
) -> BarChart:
    """Bars for ``(label, amount, flagged)`` in the order given (the largest first)."""
    shown = list(items[:limit])
    largest_positive = max((v for _, v, _ in shown if v > 0), default=Decimal(0))
    largest_negative = max((-v for _, v, _ in shown if v < 0), default=Decimal(0))
    span = largest_positive + largest_negative or Decimal(1)
    zero = LABEL_WIDTH + float(largest_negative / span) * BAR_WIDTH
    bars = []
    for index, (label, value, flagged) in enumerate(shown):
        width = max(float(abs(value) / span) * BAR_WIDTH, 1.0 if value else 0.0)
        start = zero - width if value < 0 else zero
        bars.append(
            Bar(
                label=label if len(label) <= 26 else label[:25] + "…",
                value=format_money(value, currency),
                x=round(start, 1),
                y=index * (BAR_HEIGHT + BAR_GAP),
                width=round(width, 1),
                negative=value < 0,
                flagged=flagged,
            )
        )
    height = max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP)
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    return BarChart(bars, width, height, round(zero, 1), max(len(items) - len(shown), 0))


TIMELINE_WIDTH = 860
LANE_HEIGHT = 34
TIMELINE_LEFT = 170


@dataclass(frozen=True)
class Mark:
    x: float
    y: int
    kind: str  # ok | told (carried Retry-After) | throttled (429/503) | early (too early) | error
    title: str


@dataclass(frozen=True)
class Lane:
    client: str
    y: int
    compliant: bool


@dataclass(frozen=True)
class Timeline:
    lanes: list[Lane]
    marks: list[Mark]
    width: int
    height: int
    left: int
    start: str
    end: str


def _kind(call: LoggedRequest, early: set[str]) -> str:
    if call.request_id in early:
        return "early"
    if call.status in (429, 503):
        return "throttled"
    if call.retry_after is not None:
        return "told"
    return "ok" if 0 < call.status < 400 else "error"


def timeline(
    calls: Sequence[LoggedRequest], compliant: dict[str, bool], early_request_ids: set[str]
) -> Timeline | None:
    """One lane per client, a mark per call at its arrival time (``None`` without calls)."""
    if not calls:
        return None
    first = min(c.received_at for c in calls)
    last = max(c.received_at for c in calls)
    seconds = max((last - first).total_seconds(), 0.001)
    clients = list(dict.fromkeys(c.client for c in calls))
    lanes = [
        Lane(client, 24 + i * LANE_HEIGHT, compliant.get(client, True))
        for i, client in enumerate(clients)
    ]
    lane_y = {lane.client: lane.y for lane in lanes}
    plot = TIMELINE_WIDTH - TIMELINE_LEFT - 16
    marks = []
    for call in calls:
        offset = (call.received_at - first).total_seconds() / seconds
        told = f", Retry-After {call.retry_after}" if call.retry_after is not None else ""
        marks.append(
            Mark(
                x=round(TIMELINE_LEFT + offset * plot, 1),
                y=lane_y[call.client],
                kind=_kind(call, early_request_ids),
                title=f"{call.received_at:%H:%M:%S.%f}"[:-3]
                + f" {call.method} {call.path} → {call.status}{told}",
            )
        )
    return Timeline(
        lanes,
        marks,
        TIMELINE_WIDTH,
        24 + len(lanes) * LANE_HEIGHT,
        TIMELINE_LEFT,
        f"{first:%H:%M:%S}",
        f"{last:%H:%M:%S}",
    )
