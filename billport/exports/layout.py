"""Where an export's blobs live: Hive-style directories and Spark-style part names (spec §4.3)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from billport.billing.datasets import Dataset
from billport.billing.scopes import Scope

CONTAINERS = {
    Dataset.BILLED_RECONCILIATION: "billedreconfastpath",
    Dataset.UNBILLED_RECONCILIATION: "unbilledreconfastpath",
    Dataset.BILLED_USAGE: "billedusagefastpath",
    Dataset.UNBILLED_USAGE: "unbilledusagefastpath",
    # [I] no real payload seen: the same pattern, named like the others
    Dataset.BILLED_AGGREGATED_USAGE: "billedaggregatedusagefastpath",
}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def root_path(scope: Scope, created: datetime) -> str:
    """Directory of an export's parts, e.g. ``billedusagefastpath/v1/PartnerTenantId=…/…``."""
    fragment = "PartitionType=default"
    if scope.dataset.attribute_sets:  # no attributeSet (aggregated usage): no Fragment level
        fragment = f"Fragment={scope.attribute_set.value}/{fragment}"
    container = CONTAINERS[scope.dataset]
    head = f"PartnerTenantId={scope.tenant_id}/BillingMonth={scope.billing_month}"
    if scope.dataset.billed:
        version = created.strftime("%Y%m%d%H%M%S")
        invoice = f"InvoiceId={scope.invoice_id}/InvoiceVersion={version}"
        return f"{container}/v1/{head}/{invoice}/{fragment}"
    snapshot = created.strftime("%Y%m%d%H%M%S")
    return f"{container}/v1/{snapshot}/{head}/Currency={scope.currency}/{fragment}"


def part_name(index: int) -> str:
    return f"part-{index:05d}-{uuid.uuid4()}.c000.json.gz"


def etag(scope_key: str, fingerprint: str) -> str:
    """A 17-character base62 data version: equal data gives an equal eTag."""
    number = int.from_bytes(hashlib.sha256(f"{scope_key}|{fingerprint}".encode()).digest()[:13])
    chars = []
    for _ in range(17):
        number, rem = divmod(number, 62)
        chars.append(_BASE62[rem])
    return "".join(chars)
