"""``billport invoices list|show``: Partner Center invoices as a table, JSON or CSV.

The table shows amounts as people read them in the invoice's currency (``£24,606.35``,
``¥98,765``, ``KWD 12.345``: its symbol, separators, at least its ISO 4217 places, never a
digit rounded away); JSON and CSV keep them exactly as the service sent them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from billport.cli.target import pop_target, target_options
from billport.client.partner_center import date_filter

# (header, invoice key) of the table and CSV columns.
COLUMNS = (
    ("id", "id"),
    ("date", "invoiceDate"),
    ("period start", "billingPeriodStartDate"),
    ("period end", "billingPeriodEndDate"),
    ("type", "invoiceType"),
    ("document", "documentType"),
    ("currency", "currencyCode"),
    ("total", "totalCharges"),
    ("paid", "paidAmount"),
)
FORMATS = click.Choice(["table", "json", "csv"])
AMOUNTS = ("totalCharges", "paidAmount")


def to_json(value: Any) -> str:
    """JSON with amounts exactly as the service sent them (Decimal, never float)."""

    def convert(item: Any) -> Any:
        if isinstance(item, Decimal):
            return orjson.Fragment(str(item))
        if isinstance(item, dict):
            return {k: convert(v) for k, v in item.items()}
        if isinstance(item, list):
            return [convert(v) for v in item]
        return item

    return orjson.dumps(convert(value), option=orjson.OPT_INDENT_2).decode()


def wide_console() -> Console:
    """Tables piped to a file or another program are not cut to 80 columns."""
    console = Console()
    if not console.is_terminal:
        console.width = 200
    return console


def as_amount(value: Any) -> Decimal | None:
    """An amount from JSON (Decimal, int or numeric text) as a finite Decimal; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return amount if amount.is_finite() else None


def money(value: Any, currency: str, symbol: str = "") -> str:
    """``value`` in ``currency``: ``$1,234.50``, ``-£40.00``, ``CHF 586,366.00``, ``¥98,765``.

    The symbol the service sent (else the code) goes first, with a space when it is letters;
    the digits are :func:`billport.reconcile.money.format_amount`'s, the one money format of
    the reports. A value that is not a number is shown as sent.
    """
    from billport.reconcile.money import format_amount

    amount = as_amount(value)
    if amount is None:
        return "" if value is None else str(value)
    code = currency.strip().upper()
    text = format_amount(amount, code)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    prefix = symbol.strip() or code
    if prefix[-1:].isalpha():
        prefix += " "
    return f"{sign}{prefix}{digits}"


def cell(invoice: dict[str, Any], key: str) -> str:
    value = invoice.get(key)
    if value is None:
        return ""
    if key in AMOUNTS:
        currency = str(invoice.get("currencyCode") or "")
        return money(value, currency, str(invoice.get("currencySymbol") or ""))
    if key.endswith("Date") and isinstance(value, str):
        return value[:10]
    return str(value)


def render(invoices: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        click.echo(to_json(invoices))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([key for _, key in COLUMNS])
        for invoice in invoices:
            writer.writerow(["" if invoice.get(k) is None else invoice[k] for _, k in COLUMNS])
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=f"{len(invoices)} invoices")
        for header, key in COLUMNS:
            table.add_column(header, justify="right" if key in AMOUNTS else "left")
        for invoice in invoices:
            table.add_row(*(cell(invoice, key) for _, key in COLUMNS))
        wide_console().print(table)


def build_filter(
    start: datetime | None, end: datetime | None, raw: str | None
) -> dict[str, Any] | None:
    dates = date_filter(start.date() if start else None, end.date() if end else None)
    given = None
    if raw:
        try:
            given = json.loads(raw)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--filter") from exc
        if not isinstance(given, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--filter")
    if dates and given:
        return {"LeftFilter": given, "RightFilter": dates, "Operator": "and"}
    return dates or given


@click.group()
def invoices() -> None:
    """Partner Center invoices (billport server or the real service)."""


@invoices.command("list")
@target_options
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Invoices on or after DATE."
)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Invoices on or before DATE.")
@click.option("--filter", "raw_filter", help='Partner Center filter JSON, e.g. {"Field": '
              '"InvoiceDate", "Value": "2024-01-01", "Operator": "greater_than"}.')  # fmt: skip
@click.option(
    "--all", "all_pages", is_flag=True, help="Follow every next page (default: first page)."
)
@click.option("--size", type=click.IntRange(1, 200), default=None, help="Page size (1-200).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def list_invoices(
    start: datetime | None,
    end: datetime | None,
    raw_filter: str | None,
    all_pages: bool,
    size: int | None,
    fmt: str,
    **options: Any,
) -> None:
    """List invoices, optionally between two dates."""
    query = build_filter(start, end, raw_filter)
    with pop_target(options) as target:
        client = target.partner_center()
        found = list(client.invoices(filter=query, size=size, pages=None if all_pages else 1))
    render(found, fmt)


@invoices.command("show")
@target_options
@click.argument("invoice_id")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def show_invoice(invoice_id: str, fmt: str, **options: Any) -> None:
    """Show one invoice with its details and amendments."""
    with pop_target(options) as target:
        invoice = target.partner_center().invoice(invoice_id)
    if fmt == "json":
        click.echo(to_json(invoice))
        return
    table = Table(title=f"Invoice {invoice.get('id', invoice_id)}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for header, key in COLUMNS:
        table.add_row(header, cell(invoice, key))
    for detail in invoice.get("invoiceDetails") or []:
        table.add_row(
            "detail", f"{detail.get('billingProvider')} {detail.get('invoiceLineItemType')}"
        )
    for amendment in invoice.get("amendments") or []:
        table.add_row(
            "amendment",
            f"{amendment.get('id')} {amendment.get('documentType')} "
            f"{cell(amendment, 'totalCharges')}",
        )
    wide_console().print(table)
