"""One job of a sync: export (resumably), convert to Parquet, move onto the partition, record."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from billport.billing.datasets import BillingPeriod, Dataset
from billport.client.errors import (
    ClientError,
    OperationFailed,
    OperationTimeout,
    RemoteError,
)
from billport.client.export import ExportEvents, ExportRun
from billport.client.models import ExportRequest, Manifest, Operation
from billport.lake import paths
from billport.lake.files import install, remove_partition
from billport.lake.plan import AGGREGATED, Job, known_dataset
from billport.lake.run import Landing, Run
from billport.lake.state import NO_DATA, SYNCED, UNAVAILABLE, Record
from billport.outputs.errors import OutputError

# failedOperation code of an export with nothing in it: a legacy-commerce invoice, or an
# unbilled period without charges in that currency. Neither is an error of the sync.
NO_DATA_CODE = "5000"
MAX_RESUME_AGE = 6 * 3600.0  # seconds: an older half-done export is started again


def land(sync: Run, job: Job) -> Landing:
    dataset = known_dataset(job.dataset)
    aggregated = job.dataset == AGGREGATED
    graph = sync.beta if aggregated else sync.graph
    if dataset is None or graph is None:
        why = "this client does not know the dataset" if dataset is None else "no beta endpoint"
        return _unavailable(sync, job, why)
    if aggregated and sync.unavailable.is_set():
        return _unavailable(sync, job, "the service does not offer it (404)")
    request = _request(job, dataset, sync)
    parts_dir, state_path = paths.export_work(sync.lake, job.key)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    run = ExportRun(
        graph,
        request,
        parts_dir,
        state_path,
        events=_stoppable(sync, sync.events.export_events(job)),
        wait=sync.options.wait,
        workers=sync.options.downloads,
    )
    try:
        manifest, parts = _export(run)
    except OperationFailed as exc:
        run.finish()  # nothing to resume: the service will not produce this export
        if exc.operation_code == NO_DATA_CODE:
            return _no_data(sync, job, _reason(exc))
        return Landing(job, "failed", note=str(exc))
    except RemoteError as exc:
        if aggregated and exc.status == 404:
            run.finish()
            sync.unavailable.set()
            return _unavailable(sync, job, "the service does not offer it (404)")
        return Landing(job, "failed", note=str(exc))
    except ClientError as exc:
        return Landing(job, "failed", note=str(exc))  # work files stay: the next run resumes
    try:
        landing = _install(sync, job, dataset, manifest, parts)
    except OutputError as exc:
        return Landing(job, "failed", note=f"cannot convert: {exc.message}")
    run.finish()
    return landing


class Stopped(ClientError):
    """The run is stopping (Ctrl-C): this export stops here and the next run resumes it."""


def _stoppable(sync: Run, events: ExportEvents) -> ExportEvents:
    """``events`` that raise :class:`Stopped` at the next poll or chunk once the run stops."""

    def check() -> None:
        if sync.stopping.is_set():
            raise Stopped("stopped (Ctrl-C); the next run resumes this export")

    polled, received = events.polled, events.bytes

    def on_poll(operation: Operation, elapsed: float) -> None:
        check()
        polled(operation, elapsed)

    def on_bytes(count: int) -> None:
        check()
        received(count)

    return replace(events, polled=on_poll, bytes=on_bytes)


def _request(job: Job, dataset: Dataset, sync: Run) -> ExportRequest:
    if job.invoice is not None:
        return ExportRequest(dataset, invoice_id=job.invoice.id,
                             attribute_set=sync.options.attribute_set)  # fmt: skip
    return ExportRequest(dataset, billing_period=job.period, currency=job.currency,
                         attribute_set=sync.options.attribute_set)  # fmt: skip


def _export(run: ExportRun) -> tuple[Manifest, list[Path]]:
    """Resume a half-done export when its state is recent; start over once when it is stale."""
    saved = run.state_path.exists()
    if saved and time.time() - run.state_path.stat().st_mtime > MAX_RESUME_AGE:
        run.finish()
        saved = False
    try:
        return run.run(resume=True)
    except (OperationFailed, OperationTimeout, Stopped):
        raise  # a new export would fail or wait the same way; a stopped one resumes later
    except ClientError:
        if not saved:
            raise
        run.finish()  # the saved operation or its manifest is gone: ask again
        return run.run(resume=False)


def _month(sync: Run, job: Job, manifest: Manifest) -> int:
    found = paths.month_of_root(manifest.root_directory)
    if found:
        return found
    if job.invoice is not None:
        return job.invoice.billing_month
    now = sync.now()
    year, month = now.year, now.month
    if job.period is BillingPeriod.LAST:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return year * 100 + month


def _target(sync: Run, job: Job, month: int) -> Path:
    if job.invoice is not None:
        return paths.billed_partition(sync.lake, job.dataset, month, job.invoice.id)
    return paths.unbilled_partition(sync.lake, job.dataset, month, job.currency)


def _previous(sync: Run, job: Job) -> Record | None:
    if job.invoice is not None:
        return sync.state.record(job.invoice.id, job.dataset)
    return sync.state.snapshots.get(job.key)


def _install(
    sync: Run, job: Job, dataset: Dataset, manifest: Manifest, parts: list[Path]
) -> Landing:
    month = _month(sync, job, manifest)
    target = _target(sync, job, month)
    where = paths.relative(sync.lake, target)
    previous = _previous(sync, job)
    same = (
        previous is not None
        and previous.status == SYNCED
        and bool(manifest.etag)
        and previous.etag == manifest.etag
        and previous.path == where
        and target.exists()
    )
    if same and previous is not None:
        rows, status = previous.rows, "unchanged"
    else:
        sync.events.phase(job, "converting to Parquet")
        rows = _convert(sync, dataset, parts, target)
        status = job.reason if job.billed else "replaced"
        if job.billed and previous is not None and previous.path and previous.path != where:
            remove_partition(sync.lake, sync.lake / previous.path)  # the invoice moved month
    record = Record(
        SYNCED,
        fingerprint=job.invoice.fingerprint if job.invoice is not None else "",
        etag=manifest.etag,
        manifest_id=manifest.id,
        billing_month=month,
        path=where,
        rows=rows,
        synced_at=_stamp(sync.now()),
    )
    _remember(sync, job, record)
    return Landing(job, status, rows, manifest.etag, where)


def _convert(sync: Run, dataset: Dataset, parts: list[Path], target: Path) -> int:
    """The parts as one Parquet file, staged in the lake, then moved onto ``target``."""
    from billport.outputs import write_output

    staging = paths.work_dir(sync.lake) / "staging" / f"{uuid.uuid4().hex}.parquet"
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = write_output(
            parts, dataset=dataset, attribute_set=sync.options.attribute_set, output=staging
        )
        install(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return result.rows


def _remember(sync: Run, job: Job, record: Record) -> None:
    if job.invoice is not None:
        sync.state.set_record(job.invoice.id, job.dataset, record)
    else:
        sync.state.set_snapshot(job.key, record)
    sync.save()


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _reason(exc: OperationFailed) -> str:
    """The service's words without the operation URL (the same for every job)."""
    return (
        f"code {exc.operation_code}: {exc.args[0].split(': ', 2)[-1].rsplit(' (operation', 1)[0]}"
    )


def _no_data(sync: Run, job: Job, note: str) -> Landing:
    """Remember that there is nothing to get, so the next run does not ask again (billed) or
    asks only when the snapshot is due (unbilled); an older snapshot's partition goes."""
    record = Record(NO_DATA, synced_at=_stamp(sync.now()), note=note)
    if job.invoice is not None:
        record.fingerprint = job.invoice.fingerprint
    else:
        previous = sync.state.snapshots.get(job.key)
        if previous is not None and previous.path:
            remove_partition(sync.lake, sync.lake / previous.path)
    _remember(sync, job, record)
    return Landing(job, "noData", note=note)


def _unavailable(sync: Run, job: Job, note: str) -> Landing:
    if job.invoice is not None:
        record = Record(UNAVAILABLE, fingerprint=job.invoice.fingerprint,
                        synced_at=_stamp(sync.now()), note=note)  # fmt: skip
        _remember(sync, job, record)
    return Landing(job, "unavailable", note=note)
