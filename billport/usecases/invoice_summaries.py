"""Invoice summaries (the balance per currency) and the links to unbilled estimates."""

from __future__ import annotations

from datetime import datetime

from billport.billing import estimates
from billport.billing.estimates import EstimateLink
from billport.billing.statements import Summary, summarize
from billport.errors import NotFound
from billport.store import statements as store
from billport.store.db import Database


def summaries(db: Database, tenant_id: str) -> list[Summary]:
    """One summary per currency the tenant was invoiced in (none without invoices)."""
    with db.connect() as conn:
        return summarize(store.select_documents(conn, tenant_id))


def summary(db: Database, tenant_id: str) -> Summary:
    """The single summary of ``GET /v1/invoices/summary``: the account's original currency."""
    found = summaries(db, tenant_id)
    if not found:
        raise NotFound("The partner has no invoices, hence no invoice summary.")
    return found[0]


def estimate_links(currency_text: str | None, now: datetime) -> list[EstimateLink]:
    """The estimate links for the ``currencycode`` query value; ``InvalidRequest`` if bad."""
    return estimates.estimate_links(estimates.parse_currency(currency_text), now)
