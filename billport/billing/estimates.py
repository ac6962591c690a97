"""``GET /v1/invoices/estimates/links``: where a partner reads its unbilled (estimated) charges.

The links point at the unbilled line-item routes (``/invoices/unbilled/lineitems?...``), one per
kind of data and billing period, in the documentation sample's order. A kind whose listing the
v1 API no longer serves (billport.billing.retirement: unbilled new-commerce usage after
2025-04-21, moved to the Graph export) is left out, so every link given resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from billport.billing.datasets import Dataset
from billport.billing.retirement import retirement
from billport.errors import InvalidRequest

PAGE_SIZE = 2000  # the unbilled line items' default and maximum page size


@dataclass(frozen=True)
class EstimateKind:
    type: str  # the spec's EstimateLink.type
    title: str
    description: str
    line_item_type: str  # invoicelineitemtype of the unbilled line-item route
    dataset: Dataset  # the rows that route lists


KINDS = (
    EstimateKind(
        "daily_rated_usage",
        "Daily Rated Usage UnBilled",
        "This recon includes first and third party consumption based unbilled data only.",
        "usagelineitems",
        Dataset.UNBILLED_USAGE,
    ),
    EstimateKind(
        "non_consumption",
        "Unbilled Recon",
        "This recon includes first and third party unbilled data only.",
        "billinglineitems",
        Dataset.UNBILLED_RECONCILIATION,
    ),
)
PERIODS = ("Current", "Previous")


@dataclass(frozen=True)
class EstimateLink:
    kind: EstimateKind
    period: str  # Current | Previous
    uri: str  # relative, without /v1, as every Partner Center link


_CURRENCY = re.compile(r"[A-Za-z]{3}")


def parse_currency(value: str | None) -> str:
    """The required ``currencycode``: three letters, any case; returned lower-case."""
    if value is None or not value.strip():
        raise InvalidRequest("currencyCode is required, e.g. currencycode=usd.")
    if not _CURRENCY.fullmatch(value.strip()):
        raise InvalidRequest(f"currencyCode '{value[:20]}' is not a three-letter currency code.")
    return value.strip().lower()


def served(kind: EstimateKind, now: datetime) -> bool:
    """Whether the v1 API still lists this kind (billport's unbilled rows are new commerce)."""
    return retirement(kind.dataset, modern=True, billing_month=0, now=now) is None


def estimate_links(currency: str, now: datetime) -> list[EstimateLink]:
    """The links for ``currency`` (already parsed): every kind still served, for each period."""
    links = []
    for kind in (k for k in KINDS if served(k, now)):
        for period in PERIODS:
            uri = (
                f"/invoices/unbilled/lineitems?provider=onetime"
                f"&invoicelineitemtype={kind.line_item_type}&currencycode={currency}"
                f"&period={period.lower()}&size={PAGE_SIZE}"
            )
            links.append(EstimateLink(kind, period, uri))
    return links
