"""Rendering console pages: the Jinja2 environment, the navigation, formats, headers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from billport import __version__
from billport.billing.money import format_money
from billport.server.console.session import Session

PREFIX = "/_billport/console"


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str


# The pages in the navigation, in order; a new page adds one line here and its route.
NAV = (
    NavItem("overview", "Overview", PREFIX),
    NavItem("exports", "Exports", f"{PREFIX}/exports"),
    NavItem("requests", "Requests", f"{PREFIX}/requests"),
    NavItem("scenario", "Scenario", f"{PREFIX}/scenario"),
    NavItem("invoices", "Invoices", f"{PREFIX}/invoices"),
    NavItem("resellers", "Resellers", f"{PREFIX}/resellers"),
)

# Pages load only their own scripts, styles and images; no frames; no referrer leaves the site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts send Origin: null
    "Cache-Control": "no-store",
}


def money(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def size(value: int | None) -> str:
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return f"{value} B"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("billport.server.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, number=number, size=size, when=when, duration=duration)
    env.globals.update(nav=NAV, prefix=PREFIX, version=__version__)
    return env


def render(
    request: Request,
    template: str,
    *,
    session: Session | None,
    page: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = (
        environment()
        .get_template(template)
        .render(request=request, session=session, page=page, **context)
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
