"""A self-contained HTML reconciliation report: inline CSS and SVG bar charts, no assets.

Every text from the data (customer names come from the partner's customers) is escaped.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from billport.reconcile.model import Reconciliation, Share

CHART_ROWS = 15  # bars per chart; the rest are summed into one "other" bar
BAR_WIDTH = 420
ROW_HEIGHT = 22
LABEL_WIDTH = 260

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#cf222e}tr.bad td{background:#ffebe9}
svg text{font-size:12px;font-family:inherit}
"""


def _bars(title: str, shares: tuple[Share, ...], currency: str) -> str:
    """A horizontal bar chart of one currency's slices; flagged slices in red."""
    mine = [s for s in shares if s.currency == currency]
    if not mine:
        return ""
    shown = list(mine[:CHART_ROWS])
    rest = mine[CHART_ROWS:]
    if rest:
        other_total = sum((s.total for s in rest), Decimal(0))
        lines = sum(s.lines for s in rest)
        shown.append(Share("", f"{len(rest)} others", currency, other_total, lines))
    top = max((abs(s.total) for s in shown), default=Decimal(0)) or Decimal(1)
    height = ROW_HEIGHT * len(shown) + 10
    width = LABEL_WIDTH + BAR_WIDTH + 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)} ({escape(currency)})">'
    ]
    for row, share in enumerate(shown):
        y = row * ROW_HEIGHT + 4
        length = max(1, int(BAR_WIDTH * abs(share.total) / top))
        colour = "#cf222e" if share.flagged else ("#8c959f" if share.total < 0 else "#0969da")
        label = share.label if len(share.label) <= 38 else share.label[:37] + "\u2026"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{ROW_HEIGHT - 6}" '
            f'fill="{colour}"><title>{escape(share.label)}: {share.total} {escape(currency)}, '
            f"{share.lines} lines</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 14}">{share.total:,}</text>'
        )
    parts.append("</svg>")
    return f"<h3>{escape(title)} \u2014 {escape(currency)}</h3>" + "".join(parts)


def _totals(rec: Reconciliation) -> str:
    head = (
        "<tr><th>currency</th><th class=n>invoice totalCharges</th>"
        "<th class=n>sum of line Total</th><th class=n>difference</th><th class=n>lines</th></tr>"
    )
    rows = "".join(
        f'<tr class="{"" if c.ok else "bad"}"><td>{escape(c.currency)}</td>'
        f"<td class=n>{c.invoice_total:,}</td><td class=n>{c.lines_total:,}</td>"
        f"<td class=n>{c.difference:+,}</td><td class=n>{c.lines:,}</td></tr>"
        for c in rec.currencies
    )
    return f"<table>{head}{rows}</table>"


def _findings(rec: Reconciliation) -> str:
    findings = rec.findings()
    if not findings:
        return "<p class=ok>Every currency total matches and every line is consistent.</p>"
    items = "".join(f"<li>{escape(line)}</li>" for line in findings)
    title = "Where the difference sits" if not rec.ok else "Notes"
    return f"<h2>{title}</h2><ul>{items}</ul>"


def render_html(rec: Reconciliation) -> str:
    """The whole report as one HTML document with the breakdowns as inline SVG charts."""
    verdict = '<span class="ok">OK</span>' if rec.ok else '<span class="bad">MISMATCH</span>'
    charts = "".join(
        _bars(title, shares, c.currency)
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
        f"<h1>Invoice {escape(rec.invoice_id)}: {verdict}</h1>"
        f"<p>{rec.rows:,} line items; tolerance {rec.tolerance} "
        f"{escape(rec.invoice_currency)}.</p>"
        f"<h2>Totals per currency</h2>{_totals(rec)}{_findings(rec)}"
        f"<h2>Breakdowns</h2>{charts}</body></html>\n"
    )
