"""Reconciliation reports as a terminal table (rich) and as JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from billport.reconcile.model import LineIssue, Reconciliation, Share, day
from billport.reconcile.money import format_amount, format_money

TOP = 10  # breakdown rows shown per table in the terminal (JSON and HTML have all)


def render_table(rec: Reconciliation, console: Console) -> None:
    """Print totals per currency, the breakdowns and the findings."""
    verdict = "[green]OK[/green]" if rec.ok else "[red]MISMATCH[/red]"
    console.print(
        f"Invoice [bold]{rec.invoice_id}[/bold] ({rec.invoice_currency}), {rec.rows:,} line "
        f"items, tolerance {format_money(rec.tolerance, rec.invoice_currency)}: {verdict}"
    )
    dated = [f"invoice date {day(rec.invoice_date)}"] if rec.invoice_date else []
    dated += [f"billing period {rec.billing_period}"] if rec.billing_period else []
    dated += [f"partner tenant {rec.partner_id}"] if rec.partner_id else []
    if dated:
        console.print(", ".join(dated).capitalize(), markup=False, highlight=False)
    totals = Table(title="Totals per currency")
    for name in ("currency", "invoice totalCharges", "sum of line Total", "difference", "lines"):
        totals.add_column(name, justify="left" if name == "currency" else "right")
    for c in rec.currencies:
        style = None if c.ok else "red"
        totals.add_row(c.currency, format_amount(c.invoice_total, c.currency),
                       format_amount(c.lines_total, c.currency),
                       format_amount(c.difference, c.currency, signed=True), f"{c.lines:,}",
                       style=style)  # fmt: skip
    console.print(totals)
    for title, shares in (("By customer", rec.by_customer), ("By charge type", rec.by_charge_type)):
        console.print(_share_table(title, shares, title.removeprefix("By ")))
    findings = rec.findings()
    if findings:
        console.print("[bold]Where the difference sits[/bold]" if not rec.ok else "Notes")
        for line in findings:
            console.print(f"  - {line}", markup=False, highlight=False)


def _share_table(title: str, shares: tuple[Share, ...], what: str) -> Table:
    table = Table(title=title if len(shares) <= TOP else f"{title} (top {TOP} of {len(shares)})")
    for name in (what, "currency", "total", "lines", "flagged lines"):
        table.add_column(name, justify="right" if name in ("total", "lines") else "left")
    for share in shares[:TOP]:
        flagged = str(share.flagged) if share.flagged else ""
        table.add_row(share.label, share.currency, format_amount(share.total, share.currency),
                      f"{share.lines:,}",
                      flagged, style="red" if share.flagged else None)  # fmt: skip
    return table


def _share(share: Share) -> dict[str, Any]:
    return {
        "key": share.key,
        "label": share.label,
        "currency": share.currency,
        "total": share.total,
        "lines": share.lines,
        "flaggedLines": share.flagged,
        "flaggedTotal": share.flagged_total,
    }


def _issue(issue: LineIssue) -> dict[str, Any]:
    return {
        "line": issue.line,
        "severity": issue.severity,
        "check": issue.check,
        "invoiceNumber": issue.identity.invoice,
        "customerId": issue.customer_id,
        "customerName": issue.customer_name,
        "subscriptionId": issue.identity.subscription_id,
        "orderId": issue.identity.order_id,
        "productId": issue.identity.product_id,
        "skuId": issue.identity.sku_id,
        "skuName": issue.identity.sku_name,
        "chargeStartDate": issue.identity.charge_start,
        "chargeEndDate": issue.identity.charge_end,
        "chargeType": issue.charge_type,
        "currency": issue.currency,
        "expected": issue.expected,
        "actual": issue.actual,
        "difference": issue.difference,
        "message": issue.describe(),
    }


def as_dict(rec: Reconciliation) -> dict[str, Any]:
    """The report as plain data; amounts stay Decimal."""
    return {
        "invoiceId": rec.invoice_id,
        "invoiceCurrency": rec.invoice_currency,
        "invoiceDate": rec.invoice_date,
        "billingPeriodStartDate": rec.period_start,
        "billingPeriodEndDate": rec.period_end,
        "partnerId": rec.partner_id,
        "ok": rec.ok,
        "tolerance": rec.tolerance,
        "rows": rec.rows,
        "currencies": [
            {
                "currency": c.currency,
                "invoiceTotal": c.invoice_total,
                "linesTotal": c.lines_total,
                "difference": c.difference,
                "lines": c.lines,
                "ok": c.ok,
            }
            for c in rec.currencies
        ],
        "byCustomer": [_share(s) for s in rec.by_customer],
        "byChargeType": [_share(s) for s in rec.by_charge_type],
        "issues": [_issue(i) for i in rec.issues],
        "issuesTotal": rec.issues_total,
        "findings": rec.findings(),
    }


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # exact amounts as JSON numbers
    raise TypeError(type(value).__name__)


def render_json(rec: Reconciliation) -> str:
    """The report as indented JSON, amounts as exact JSON numbers."""
    return orjson.dumps(as_dict(rec), default=_default, option=orjson.OPT_INDENT_2).decode()
