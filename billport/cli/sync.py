"""``billport sync --lake DIR``: keep a billing lake current; ``billport verify``: check it
(see docs/sync.md).

Exit codes as the other client commands: 0 when every job landed (or had nothing to do),
4 when a job failed (the summary names it and why; the next run retries it), 3 when the
credentials are refused, 130 on Ctrl-C (the next run resumes).
"""

from __future__ import annotations

import re
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console

from billport.cli.progress import count, duration
from billport.cli.sync_progress import SyncProgress
from billport.cli.target import Target, pop_target, pop_wait, target_options, wait_options
from billport.lake.plan import ALL_DATASETS
from billport.lake.run import Landing

INTERRUPTED = 130
FAILED = 4
MISMATCH = 1  # billport verify, like billport reconcile
# --datasets names: billed-reconciliation, ..., billed-aggregated-usage
CLI_NAMES = {re.sub(r"([A-Z])", r"-\1", name).lower(): name for name in ALL_DATASETS}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``6h``, ``1d`` as seconds."""
    found = _DURATION.match(text.lower())
    if not found:
        raise click.BadParameter(
            f"{text!r}: use seconds or 15m, 6h, 1d", param_hint="--unbilled-every"
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_datasets(text: str | None) -> tuple[str, ...]:
    if not text:
        return ALL_DATASETS
    chosen = []
    for name in (n.strip().lower() for n in text.split(",") if n.strip()):
        if name not in CLI_NAMES:
            raise click.BadParameter(
                f"{name!r}: choose from {', '.join(CLI_NAMES)}", param_hint="--datasets"
            )
        chosen.append(CLI_NAMES[name])
    return tuple(chosen)


def beta_url(graph_url: str) -> str | None:
    """The Graph beta root next to ``graph_url`` (aggregated usage is beta only)."""
    for version in ("/v1.0", "/beta"):
        if graph_url.endswith(version):
            return graph_url[: -len(version)] + "/beta"
    return None


@click.command()
@click.option(
    "--lake",
    required=True,
    envvar="BILLPORT_LAKE",
    type=click.Path(file_okay=False, path_type=Path),
    help="The lake directory (created when missing). [env: BILLPORT_LAKE]",
)
@click.option(
    "--datasets", help=f"Comma-separated subset of: {', '.join(CLI_NAMES)} (default: all)."
)
@click.option(
    "--since", type=click.DateTime(["%Y-%m-%d"]), help="Only invoices dated on or after DATE."
)
@click.option(
    "--currency",
    "currencies",
    multiple=True,
    help="Currency of the unbilled snapshots (repeatable; default: the invoices').",
)
@click.option(
    "--unbilled-every",
    default="0",
    show_default=True,
    envvar="BILLPORT_UNBILLED_EVERY",
    help="Take the unbilled snapshots only when the last is older than this "
    "(90s, 15m, 6h, 1d; 0: every run). [env: BILLPORT_UNBILLED_EVERY]",
)
@click.option("--dry-run", is_flag=True, help="List what would be exported; export nothing.")
@click.option(
    "--exports",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    envvar="BILLPORT_SYNC_EXPORTS",
    help="Exports at once. [env: BILLPORT_SYNC_EXPORTS]",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    envvar="BILLPORT_DOWNLOAD_WORKERS",
    help="Blobs downloaded at once per export. [env: BILLPORT_DOWNLOAD_WORKERS]",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for schedulers.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@wait_options
@target_options
def sync(
    lake: Path,
    datasets: str | None,
    since: datetime | None,
    currencies: tuple[str, ...],
    unbilled_every: str,
    dry_run: bool,
    exports: int,
    parallel: int,
    log_format: str,
    quiet: bool,
    **options: Any,
) -> None:
    """Keep a billing lake (Parquet + DuckDB + FOCUS) current."""  # fmt: skip
    from billport.lake import LakeSync, SyncOptions

    sync_options = SyncOptions(
        datasets=parse_datasets(datasets),
        since=since.date() if since else None,
        currencies=tuple(c.upper() for c in currencies),
        unbilled_every=parse_duration(unbilled_every),
        dry_run=dry_run,
        exports=exports,
        downloads=parallel,
        wait=pop_wait(options),
    )
    console = Console(stderr=True)
    with (
        pop_target(options) as target,
        SyncProgress(console, enabled=not quiet and log_format == "text") as progress,
    ):
        syncer = LakeSync(lake, target.partner_center(), target.graph(), _beta(target),
                          sync_options, _events(progress, log_format))  # fmt: skip
        try:
            report = syncer.run()
        except KeyboardInterrupt:
            progress.stop()
            console.print("interrupted: run the same command again to resume")
            sys.exit(INTERRUPTED)
    emit = _json_summary if log_format == "json" else _text_summary
    emit(lake, report, progress.elapsed)
    if not report.ok:
        sys.exit(FAILED)


def _events(progress: SyncProgress, log_format: str) -> Any:
    """The progress display's events; with JSON logs, each landing also printed at once."""
    events = progress.events()
    if log_format == "json":
        shown = events.finished

        def finished(landing: Landing) -> None:
            shown(landing)
            landed_line(landing)

        events.finished = finished
    return events


def _beta(target: Target) -> Any:
    from billport.client.graph import GraphClient

    url = beta_url(target.graph_url)
    return GraphClient(target.credential, target.http, url) if url else None


def _text_summary(lake: Path, report: Any, elapsed: float) -> None:
    if report.dry_run:
        for job in report.plan.jobs:
            click.echo(f"would export {job.key} ({job.reason})")
        planned, current = len(report.plan.jobs), len(report.plan.unchanged)
        click.echo(f"dry run: {planned} exports, {current} up to date, {report.invoices} invoices")
        return
    counts = ", ".join(
        f"{report.count(s)} {s}" for s in ("new", "changed", "unchanged", "replaced", "failed")
    )
    click.echo(f"{lake}: {report.invoices} invoices; {counts}; "
               f"{len(report.plan.unchanged)} up to date ({duration(elapsed)})")  # fmt: skip
    notes: dict[tuple[str, str], list[Landing]] = {}
    for landing in report.landings:
        if landing.status in ("unavailable", "noData"):
            notes.setdefault((landing.status, landing.job.dataset), []).append(landing)
    for (status, dataset), landings in notes.items():
        keys = ", ".join(landing.job.key.split("/", 1)[1] for landing in landings)
        click.echo(f"  {status}: {dataset} ({len(landings)}: {keys}): {landings[0].note}")
    for landing in report.failed:
        click.echo(f"  failed: {landing.job.key}: {landing.note}")
    for note in report.notes:
        click.echo(f"  note: {note}")


_PRINTING = threading.Lock()


def landed_line(landing: Landing) -> None:
    """One job's JSON line, printed as it lands (export threads call this)."""
    job = landing.job
    body = {"event": "landed", "job": job.key, "dataset": job.dataset,
            "invoice": job.invoice.id if job.invoice else None, "status": landing.status,
            "rows": landing.rows, "eTag": landing.etag, "path": landing.path,
            "note": landing.note}  # fmt: skip
    with _PRINTING:
        click.echo(orjson.dumps(body).decode())


def _json_summary(lake: Path, report: Any, elapsed: float) -> None:
    def line(body: dict[str, Any]) -> None:
        click.echo(orjson.dumps(body).decode())

    for job in report.plan.jobs if report.dry_run else ():
        line({"event": "planned", "job": job.key, "dataset": job.dataset, "reason": job.reason})
    summary = {s: report.count(s) for s in ("new", "changed", "unchanged", "replaced", "failed")}
    line({"event": "summary", "lake": str(lake), "dryRun": report.dry_run,
          "invoices": report.invoices, "planned": len(report.plan.jobs),
          "upToDate": len(report.plan.unchanged), **summary, "seconds": round(elapsed, 3),
          "notes": report.notes, "ok": report.ok})  # fmt: skip


@click.command()
@click.option(
    "--lake",
    required=True,
    envvar="BILLPORT_LAKE",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The lake directory. [env: BILLPORT_LAKE]",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Mismatches listed (all are counted).",
)
def verify(lake: Path, fmt: str, limit: int) -> None:
    """Check every reconciliation row and invoice total of a lake to the cent; exit 1 on a
    mismatch."""  # fmt: skip
    from billport.lake.verify import verify_lake

    report = verify_lake(lake)
    shown = report.mismatches[:limit]
    if fmt == "json":
        click.echo(orjson.dumps({
            "ok": report.ok, "rows": report.rows, "invoices": report.invoices,
            "mismatches": report.count,
            "listed": [{"check": m.check, "invoice": m.invoice, "path": m.path, "row": m.row,
                        "expected": None if m.expected is None else str(m.expected),
                        "actual": None if m.actual is None else str(m.actual),
                        "line": m.identity.describe() if m.identity else None} for m in shown],
        }).decode())  # fmt: skip
    else:
        for mismatch in shown:
            click.echo(mismatch.describe())
        verdict = "OK" if report.ok else f"{count(report.count)} mismatches"
        click.echo(f"{lake}: {count(report.rows)} rows of {count(report.invoices)} invoices "
                   f"checked: {verdict}")  # fmt: skip
    if not report.ok:
        sys.exit(MISMATCH)
