"""Which v1 line-item queries Microsoft retired, moving them to the Graph billing exports.

From the live pages (spec/additions-2026.md §2; get-invoiceline-items,
get-invoice-billed-consumption-lineitems, get-invoice-unbilled-consumption-lineitems): after
**2025-04-21** the query form (``?provider=onetime&invoicelineitemtype=...``) no longer serves
new-commerce data that the Graph exports serve:

- billed ``billinglineitems`` of billing periods from **February 2024** (Graph
  ``reconciliation/billed/export``); earlier periods are served ("use this API exclusively");
- billed ``usagelineitems`` of periods from **September 2022** (Graph ``usage/billed/export``);
- unbilled ``usagelineitems`` (Graph ``usage/unbilled/export``); billport's unbilled rows
  are all new commerce.

Unbilled ``billinglineitems`` carries no retirement notice and stays live; so do legacy
invoices (the Graph exports do not serve them). The path form
(``/lineitems/{provider}/{type}``) is what every invoice's ``invoiceDetails[].links.self``
points at, so billport keeps it serving every invoice it lists (docs/api-partner-center.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from billport.billing.datasets import Dataset

RETIRED_ON = datetime(2025, 4, 21, tzinfo=UTC)
# First billing month (yyyymm) the Graph export took over, per billed dataset.
FIRST_GRAPH_MONTH = {
    Dataset.BILLED_RECONCILIATION: 202402,
    Dataset.BILLED_USAGE: 202209,
}
GRAPH_EXPORT = {
    Dataset.BILLED_RECONCILIATION: "reconciliation/billed/export",
    Dataset.BILLED_USAGE: "usage/billed/export",
    Dataset.UNBILLED_USAGE: "usage/unbilled/export",
}


def retirement(dataset: Dataset, *, modern: bool, billing_month: int, now: datetime) -> str | None:
    """Why the query form refuses this listing (its Partner Center 400), or None if served."""
    if not modern or now < RETIRED_ON or dataset not in GRAPH_EXPORT:
        return None
    first = FIRST_GRAPH_MONTH.get(dataset)
    if first is not None and billing_month < first:
        return None
    what = "unbilled" if first is None else f"billing periods from {first // 100}-{first % 100:02d}"
    kind = "usage" if dataset.usage else "reconciliation"
    return (
        f"New-commerce {kind} line items of {what} are no longer served by this API since "
        f"{RETIRED_ON:%Y-%m-%d}: use the Microsoft Graph export "
        f"POST /v1.0/reports/partners/billing/{GRAPH_EXPORT[dataset]}."
    )
