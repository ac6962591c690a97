"""What a job may use, handed to it by its worker (no bag of everything), and the one way
a job stages an id range: in its own process, or one blob per export process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from billport.blobs.base import BlobStore
from billport.clock import Clock
from billport.exports import blob_tasks
from billport.exports.pool import ExportPool
from billport.exports.ranges import BlobRange, write_range
from billport.exports.writer import WrittenBlob
from billport.jobs.lease import Heartbeat, run_in_pool
from billport.sandbox.scenario import Scenario
from billport.settings import Settings
from billport.store.db import Database


@dataclass(frozen=True)
class JobContext:
    """The stores, clock and settings a job works with, and the sandbox scenario lookup."""

    db: Database
    blobs: BlobStore
    clock: Clock
    settings: Settings  # export tunables (rows per blob and partition, gzip level, lease)
    sas_key: bytes = field(repr=False)  # export processes open their own blob store with it
    scenario_for: Callable[[str], Scenario]  # tenant id -> the scenario in force
    pool: ExportPool | None = None  # export processes; None writes in the worker's process

    def stage(
        self,
        target: BlobRange,
        *,
        end: int,
        starts: Callable[[], list[int]],
        beat: Heartbeat,
        should_stop: Callable[[], bool],
    ) -> list[WrittenBlob]:
        """Stage ``target``'s blobs. With export processes and more than one blob (``starts``
        gives each blob's first id; ``end`` is past the last id), one task per blob;
        otherwise in this process. Either way each blob holds the same bytes."""
        if self.pool is not None:
            firsts = starts()
            if len(firsts) > 1:
                tasks = blob_tasks.plan_tasks(self.settings, self.sas_key, target, firsts, end)
                return run_in_pool(self.pool, tasks, lambda: beat(0), should_stop)
        return write_range(
            self.db, self.blobs, target, level=self.settings.gzip_level, on_batch=beat
        )

    def heartbeat(
        self, should_stop: Callable[[], bool], renew: Callable[..., bool], job_id: str
    ) -> Heartbeat:
        return Heartbeat(
            self.db, self.clock, self.settings.lease_seconds, should_stop, renew, job_id
        )
