"""Invoice reconciliation: ``totalCharges`` against the line items, and where they differ."""

from billport.reconcile.check import DEFAULT_TOLERANCE, reconcile
from billport.reconcile.html import render_html
from billport.reconcile.model import (
    CurrencyTotal,
    LineIdentity,
    LineIssue,
    Reconciliation,
    Share,
)
from billport.reconcile.money import format_amount, format_money
from billport.reconcile.render import render_json, render_table

__all__ = [
    "DEFAULT_TOLERANCE",
    "CurrencyTotal",
    "LineIdentity",
    "LineIssue",
    "Reconciliation",
    "Share",
    "format_amount",
    "format_money",
    "reconcile",
    "render_html",
    "render_json",
    "render_table",
]
