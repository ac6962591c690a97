"""What one sync run is made of, shared by the run (billport.lake.sync) and the landing of
each job (billport.lake.land): its options, its callbacks, what a job did, and the run as a
landing sees it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from billport.billing.datasets import AttributeSet
from billport.client.export import ExportEvents, WaitOptions
from billport.client.graph import GraphClient
from billport.lake.plan import ALL_DATASETS, Job, Plan
from billport.lake.state import LakeState


@dataclass(frozen=True)
class Landing:
    """What one job did: new | changed | unchanged | replaced | unavailable | noData |
    failed, with the rows in the partition and a note (the reason when it failed)."""

    job: Job
    status: str
    rows: int = 0
    etag: str = ""
    path: str = ""
    note: str = ""


@dataclass(frozen=True)
class SyncOptions:
    datasets: tuple[str, ...] = ALL_DATASETS
    since: date | None = None
    currencies: tuple[str, ...] = ()  # unbilled snapshots; () = the invoices' currencies
    unbilled_every: float = 0.0  # seconds between unbilled snapshots; 0 = every run
    dry_run: bool = False
    exports: int = 2  # exports at once
    downloads: int = 4  # blobs downloaded at once, per export
    wait: WaitOptions = field(default_factory=WaitOptions)
    attribute_set: AttributeSet = AttributeSet.FULL
    catalog: bool = True  # (re)build DIR/billport.duckdb at the end


@dataclass
class SyncEvents:
    """Callbacks for a progress display and logs; all optional, called from worker threads."""

    planned: Callable[[Plan], None] = lambda plan: None
    started: Callable[[Job], None] = lambda job: None
    export_events: Callable[[Job], ExportEvents] = lambda job: ExportEvents()
    phase: Callable[[Job, str], None] = lambda job, text: None
    finished: Callable[[Landing], None] = lambda landing: None


class Run(Protocol):
    """What landing a job reads and changes of its run (billport.lake.sync.LakeSync)."""

    lake: Path
    graph: GraphClient
    beta: GraphClient | None
    options: SyncOptions
    events: SyncEvents
    now: Callable[[], datetime]
    state: LakeState
    stopping: threading.Event
    unavailable: threading.Event

    def save(self) -> None: ...
