"""``billport line-items INVOICE``: Partner Center v1 line items into one typed output file.

Pages are followed to the end (continuation tokens, or offsets with ``--path-form``) and
streamed into a JSON-lines part next to the output, which the export writers then turn into
JSONL, CSV, Parquet or DuckDB exactly as ``billport export`` does: v1 keys land on the
Graph dataset's columns (``totalForCustomer`` -> ``Total``), so the two files of one invoice
have the same columns and rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import orjson

from billport.billing.datasets import AttributeSet, Dataset
from billport.cli.target import pop_target, target_options
from billport.client.errors import ClientError

PROVIDERS = click.Choice(["onetime", "marketplace", "office", "azure"], case_sensitive=False)
TYPES = click.Choice(["billinglineitems", "usagelineitems"], case_sensitive=False)
V1_ONLY = ("invoiceLineItemType", "billingProvider", "attributes")  # not row data


def dataset_for(line_item_type: str, unbilled: bool) -> Dataset:
    """The Graph dataset whose columns these line items fill."""
    if line_item_type.lower() == "usagelineitems":
        return Dataset.UNBILLED_USAGE if unbilled else Dataset.BILLED_USAGE
    return Dataset.UNBILLED_RECONCILIATION if unbilled else Dataset.BILLED_RECONCILIATION


def _exact(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_part(items: Iterable[dict[str, Any]], part: Path) -> int:
    """The items as JSON lines (decimals exact, v1 envelope keys dropped); their count."""
    count = 0
    with open(part, "wb") as handle:
        for item in items:
            row = {k: v for k, v in item.items() if k not in V1_ONLY}
            handle.write(orjson.dumps(row, default=_exact) + b"\n")
            count += 1
    return count


@click.command("line-items")
@click.argument("invoice_id")
@click.option("--provider", type=PROVIDERS, default="onetime", show_default=True)
@click.option("--type", "line_item_type", type=TYPES, default="billinglineitems", show_default=True)
@click.option("--currency", help="Currency code (required for 'unbilled'), e.g. USD.")
@click.option("--period", type=click.Choice(["current", "previous"]), help="Unbilled period.")
@click.option("--size", type=click.IntRange(1, 2000), help="Page size (the service caps at 2000).")
@click.option(
    "--path-form", is_flag=True, help="Use /lineitems/{Provider}/{Type}?size&offset (legacy)."
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .jsonl, .jsonl.gz, .csv, .parquet or .duckdb.",
)
@click.option("--table", help="Table name in a .duckdb output (default: the dataset name).")
@target_options
def line_items(
    invoice_id: str,
    provider: str,
    line_item_type: str,
    currency: str | None,
    period: str | None,
    size: int | None,
    path_form: bool,
    output: Path,
    table: str | None,
    **options: Any,
) -> None:
    """Partner Center v1 line items of an invoice ('unbilled': the open period) into a file."""
    from billport.cli.export import check_output
    from billport.outputs import OutputError, write_output

    check_output(output, table)
    if not output.parent.is_dir():
        raise click.BadParameter(f"no directory {output.parent}", param_hint="--output")
    dataset = dataset_for(line_item_type, invoice_id.lower() == "unbilled")
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".jsonl", dir=output.parent)
    os.close(fd)
    part = Path(name)
    try:
        with pop_target(options) as target:
            items = target.partner_center().line_items(
                invoice_id, provider, line_item_type,
                currency=currency, period=period, size=size, path_form=path_form,
            )  # fmt: skip
            fetched = write_part(items, part)
        try:
            result = write_output(
                [part], dataset=dataset, attribute_set=AttributeSet.FULL, output=output,
                table=table,
            )  # fmt: skip
        except OutputError as exc:
            raise ClientError(f"cannot write {output}: {exc.message}") from exc
    finally:
        part.unlink(missing_ok=True)
    click.echo(f"{result.rows} line items -> {output} ({fetched} fetched)")
