"""A self-contained HTML reconciliation report: inline CSS and SVG bar charts, no assets.

Each chart stands next to a table of the same rows (plain text cells one can copy), both
built from one list of bars. A slice holding a broken line keeps its colour; the line's
own amount is marked on the bar and its table row is highlighted, so the eye goes to the
line, not to a whole customer. Every amount goes through :mod:`billport.reconcile.money`;
every text from the data (customer names come from the partner's customers) is escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from billport.reconcile.model import LineIssue, Reconciliation, Share, day
from billport.reconcile.money import format_amount, format_money

CHART_ROWS = 15  # bars per chart; the rest are summed into one "other" bar
BAR_WIDTH = 420
ROW_HEIGHT = 22
LABEL_WIDTH = 260
MARK_WIDTH = 3  # narrowest mark of a flagged line on its bar, in pixels

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.meta th{font-weight:normal;color:#57606a}
.ok{color:#1a7f37}.bad{color:#cf222e}tr.bad td{background:#ffebe9}
tr.flagged td{background:#fff8c5}tr.flagged td:first-child{box-shadow:inset 4px 0 #cf222e}
.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
svg text{font-size:12px;font-family:inherit}
"""


def _instant(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _header(rec: Reconciliation, generated_at: datetime) -> str:
    rows = (
        ("Invoice", rec.invoice_id),
        ("Invoice date", day(rec.invoice_date) or "not given"),
        ("Billing period", rec.billing_period or "not given"),
        ("Partner tenant", rec.partner_id or "not in the line items"),
        ("Invoice currency", rec.invoice_currency),
        ("Line items", f"{rec.rows:,}"),
        ("Tolerance", format_money(rec.tolerance, rec.invoice_currency)),
        ("Generated", _instant(generated_at)),
    )
    cells = "".join(f"<tr><th>{name}</th><td>{escape(value)}</td></tr>" for name, value in rows)
    return f'<table class="meta">{cells}</table>'


def chart_rows(shares: tuple[Share, ...], currency: str) -> list[Share]:
    """The bars of one currency's chart (and the rows of its table): the largest slices, the
    rest summed into one "N others" bar."""
    mine = [s for s in shares if s.currency == currency]
    shown = mine[:CHART_ROWS]
    rest = mine[CHART_ROWS:]
    if rest:
        total = sum((s.total for s in rest), Decimal(0))
        flagged_total = sum((s.flagged_total for s in rest), Decimal(0))
        shown.append(Share("", f"{len(rest)} others", currency, total,
                           sum(s.lines for s in rest), sum(s.flagged for s in rest),
                           flagged_total))  # fmt: skip
    return shown


def _bar(row: int, share: Share, top: Decimal) -> str:
    y = row * ROW_HEIGHT + 4
    length = max(1, int(BAR_WIDTH * abs(share.total) / top))
    colour = "#8c959f" if share.total < 0 else "#0969da"
    label = share.label if len(share.label) <= 38 else share.label[:37] + "\u2026"
    money = format_money(share.total, share.currency)
    value = format_amount(share.total, share.currency)
    out = (
        f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
        f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{ROW_HEIGHT - 6}" '
        f'fill="{colour}"><title>{escape(share.label)}: {money}, {share.lines:,} lines</title>'
        "</rect>"
    )
    note = ""
    if share.flagged:
        mark = min(length, max(MARK_WIDTH, int(BAR_WIDTH * abs(share.flagged_total) / top)))
        flagged = format_money(share.flagged_total, share.currency)
        out += (
            f'<rect class="flagged" x="{LABEL_WIDTH + length - mark}" y="{y - 2}" '
            f'width="{mark}" height="{ROW_HEIGHT - 2}" fill="#cf222e">'
            f"<title>{share.flagged:,} flagged line{'s' if share.flagged > 1 else ''}: "
            f"{flagged}</title></rect>"
        )
        note = f'<tspan class="flagged" fill="#cf222e"> \u25c0 {share.flagged:,} flagged</tspan>'
    return out + (
        f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 14}">'
        f'<tspan class="value">{value}</tspan>{note}</text>'
    )


def _chart(title: str, bars: list[Share], currency: str) -> str:
    top = max((abs(s.total) for s in bars), default=Decimal(0)) or Decimal(1)
    height = ROW_HEIGHT * len(bars) + 10
    width = LABEL_WIDTH + BAR_WIDTH + 200
    body = "".join(_bar(row, share, top) for row, share in enumerate(bars))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)} ({escape(currency)})">{body}</svg>'
    )


def _table(what: str, bars: list[Share], currency: str, with_key: bool) -> str:
    head = f"<tr><th>{what}</th>" + ("<th>id</th>" if with_key else "")
    head += "<th class=n>lines</th><th class=n>flagged lines</th>"
    head += f"<th class=n>total {currency}</th></tr>"
    rows = []
    for share in bars:
        mark = ' class="flagged"' if share.flagged else ""
        key = f"<td>{escape(share.key)}</td>" if with_key else ""
        rows.append(
            f"<tr{mark}><td>{escape(share.label)}</td>{key}<td class=n>{share.lines:,}</td>"
            f"<td class=n>{share.flagged or ''}</td>"
            f'<td class="n total">{format_amount(share.total, currency)}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _breakdown(title: str, shares: tuple[Share, ...], currency: str) -> str:
    """One breakdown of one currency: its chart and, next to it, the same rows as a table."""
    bars = chart_rows(shares, currency)
    if not bars:
        return ""
    what = title.removeprefix("By ")
    table = _table(what, bars, escape(currency), with_key=what == "customer")
    return (
        f'<section class="breakdown"><h3>{escape(title)} \u2014 {escape(currency)}</h3>'
        f'<div class="pair">{_chart(title, bars, currency)}{table}</div></section>'
    )


def _totals(rec: Reconciliation) -> str:
    head = (
        "<tr><th>currency</th><th class=n>invoice totalCharges</th>"
        "<th class=n>sum of line Total</th><th class=n>difference</th><th class=n>lines</th></tr>"
    )
    rows = "".join(
        f'<tr class="{"" if c.ok else "bad"}"><td>{escape(c.currency)}</td>'
        f"<td class=n>{format_amount(c.invoice_total, c.currency)}</td>"
        f"<td class=n>{format_amount(c.lines_total, c.currency)}</td>"
        f"<td class=n>{format_amount(c.difference, c.currency, signed=True)}</td>"
        f"<td class=n>{c.lines:,}</td></tr>"
        for c in rec.currencies
    )
    return f"<table>{head}{rows}</table>"


ISSUE_COLUMNS = ("severity", "invoice", "customer", "customer id", "subscription", "order",
                 "product", "SKU", "SKU name", "charge start", "charge end", "charge type",
                 "check", "expected", "found", "difference")  # fmt: skip


def _issue_row(issue: LineIssue) -> str:
    who = issue.identity
    diff = issue.difference
    texts = (issue.severity, who.invoice, who.customer_name, who.customer_id,
             who.subscription_id, who.order_id, who.product_id, who.sku_id, who.sku_name,
             day(who.charge_start), day(who.charge_end), who.charge_type, issue.check)  # fmt: skip
    amounts = (
        issue.shown(issue.expected),
        issue.shown(issue.actual),
        "" if diff is None else format_money(diff, issue.currency, signed=True),
    )
    mark = ' class="flagged"' if issue.severity == "error" else ""
    cells = "".join(f"<td>{escape(text)}</td>" for text in texts)
    cells += "".join(f"<td class=n>{escape(text)}</td>" for text in amounts)
    return f"<tr{mark}>{cells}</tr>"


def _findings(rec: Reconciliation) -> str:
    if rec.ok and not rec.issues:
        return "<p class=ok>Every currency total matches and every line is consistent.</p>"
    out = "<h2>Where the difference sits</h2>" if not rec.ok else "<h2>Notes</h2>"
    sentences = rec.currency_findings()
    if sentences:
        out += "<ul>" + "".join(f"<li>{escape(text)}</li>" for text in sentences) + "</ul>"
    if rec.issues:
        head = "".join(
            f"<th{' class=n' if name in ('expected', 'found', 'difference') else ''}>{name}</th>"
            for name in ISSUE_COLUMNS
        )
        rows = "".join(_issue_row(issue) for issue in rec.issues)
        out += f'<table class="issues"><tr>{head}</tr>{rows}</table>'
    if rec.issues_total > len(rec.issues):
        out += f"<p>\u2026 and {rec.issues_total - len(rec.issues):,} more line issues.</p>"
    return out


def render_html(rec: Reconciliation, *, generated_at: datetime) -> str:
    """The whole report as one HTML document; ``generated_at`` comes from the caller's clock."""
    verdict = '<span class="ok">OK</span>' if rec.ok else '<span class="bad">MISMATCH</span>'
    breakdowns = "".join(
        _breakdown(title, shares, c.currency)
        for c in rec.currencies
        for title, shares in (
            ("By customer", rec.by_customer),
            ("By charge type", rec.by_charge_type),
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>Reconciliation of invoice {escape(rec.invoice_id)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Invoice {escape(rec.invoice_id)}: {verdict}</h1>{_header(rec, generated_at)}"
        f"<h2>Totals per currency</h2>{_totals(rec)}{_findings(rec)}"
        f"<h2>Breakdowns</h2>{breakdowns}</body></html>\n"
    )
