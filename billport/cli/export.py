"""``billport export DATASET``: the whole Graph export flow into one typed output file.

Parts and a state file live next to the output (``<output>.billport-parts/``,
``<output>.billport-state.json``) until the output is written; ``--resume`` continues from
them after Ctrl-C, a network failure or a timeout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from billport.billing.datasets import AttributeSet, BillingPeriod, Dataset
from billport.cli.progress import ExportProgress, count, duration, size, writing_phase
from billport.cli.target import pop_target, pop_wait, target_options, wait_options
from billport.client.errors import ClientError, OperationFailed
from billport.client.export import ExportRun
from billport.client.models import ExportRequest

DATASETS = {d.cli_name: d for d in Dataset}
INTERRUPTED = 130  # the shell's code for a Ctrl-C


def work_paths(output: Path) -> tuple[Path, Path]:
    """``(parts directory, state file)`` of an export into ``output``."""
    return (
        output.with_name(output.name + ".billport-parts"),
        output.with_name(output.name + ".billport-state.json"),
    )


def build_request(
    dataset: Dataset,
    invoice: str | None,
    period: str | None,
    currency: str | None,
    attributes: str | None,
) -> ExportRequest:
    if attributes and not dataset.attribute_sets:
        raise click.UsageError(f"{dataset.cli_name} has no attribute sets (no --attributes)")
    if dataset.billed:
        if not invoice or period or currency:
            raise click.UsageError(
                f"{dataset.cli_name} takes --invoice ID (no --period/--currency)"
            )
    elif invoice or not period or not currency:
        raise click.UsageError(
            f"{dataset.cli_name} takes --period current|last and --currency CUR (no --invoice)"
        )
    return ExportRequest(
        dataset,
        invoice_id=invoice,
        billing_period=BillingPeriod(period) if period else None,
        currency=currency.upper() if currency else None,
        attribute_set=AttributeSet(attributes or "full"),
    )


def check_output(output: Path, table: str | None) -> None:
    """Refuse an output that cannot be written before any request is made."""
    from billport.outputs import format_for
    from billport.outputs.errors import require_format

    try:
        fmt = format_for(output)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from exc
    if table is not None and fmt != "duckdb":
        raise click.BadParameter("applies to .duckdb output only", param_hint="--table")
    require_format(fmt)  # MissingAnalytics: .duckdb without the analytics extra


@click.command()
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.option("--invoice", help="Invoice id (billed datasets), e.g. G016907411.")
@click.option("--period", type=click.Choice(["current", "last"]), help="Billing period (unbilled).")
@click.option("--currency", help="Billing currency (unbilled), e.g. USD.")
@click.option(
    "--attributes",
    type=click.Choice(["full", "basic"]),
    help="Attribute set (default: full); billed-aggregated-usage has none.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .jsonl, .jsonl.gz, .csv, .parquet or .duckdb.",
)
@click.option("--table", help="Table name in a .duckdb output (default: the dataset name).")
@click.option("--resume", is_flag=True, help="Continue an interrupted export of the same request.")
@wait_options
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    envvar="BILLPORT_DOWNLOAD_WORKERS",
    help="Blobs downloaded at once. [env: BILLPORT_DOWNLOAD_WORKERS]",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@target_options
def export(
    dataset: str,
    invoice: str | None,
    period: str | None,
    currency: str | None,
    attributes: str | None,
    output: Path,
    table: str | None,
    resume: bool,
    parallel: int,
    quiet: bool,
    **options: Any,
) -> None:
    """Export a billing dataset (Graph, async) into a typed file."""
    from billport.outputs import OutputError, format_for, write_output

    request = build_request(DATASETS[dataset], invoice, period, currency, attributes)
    check_output(output, table)
    wait = pop_wait(options)
    target = pop_target(options)
    workdir, state_path = work_paths(output)
    console = Console(stderr=True)
    with target, ExportProgress(console, enabled=not quiet) as progress:
        run = ExportRun(
            target.graph(),
            request,
            workdir,
            state_path,
            events=progress.events(),
            wait=wait,
            workers=parallel,
        )
        try:
            manifest, parts = run.run(resume=resume)
            progress.phase(writing_phase(format_for(output)), rows=0)
            result = write_output(
                parts,
                dataset=request.dataset,
                attribute_set=request.attribute_set,
                output=output,
                table=table,
                on_rows=progress.rows,
            )
            progress.phase("done", rows=result.rows)
        except KeyboardInterrupt:
            progress.state("interrupted")
            progress.stop()
            console.print(
                f"interrupted: state kept in {state_path}; run the same command with --resume"
            )
            sys.exit(INTERRUPTED)
        except OperationFailed:
            run.finish()  # nothing to resume: the service will not produce this export
            raise
        except OutputError as exc:
            raise ClientError(f"cannot write {output}: {exc.message}") from exc
    run.finish()
    click.echo(  # the numbers as the progress line shows them, and its clock
        f"{count(result.rows)} rows -> {output} ({count(len(manifest.blobs))} parts, "
        f"{size(progress.bytes)} downloaded, {duration(progress.elapsed)})"
    )
