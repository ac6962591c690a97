"""The invoices a sync works from: listed once per run, amendments flattened, kept as Parquet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from billport.client.partner_center import PartnerCenterClient, date_filter
from billport.lake.state import fingerprint

# (column, invoice key, kind) of the invoices table; kinds as in export_fields.json.
COLUMNS = (
    ("InvoiceId", "id", "string"),
    ("AmendsOf", "amendsOf", "string"),
    ("InvoiceDate", "invoiceDate", "datetime"),
    ("BillingPeriodStartDate", "billingPeriodStartDate", "datetime"),
    ("BillingPeriodEndDate", "billingPeriodEndDate", "datetime"),
    ("InvoiceType", "invoiceType", "string"),
    ("DocumentType", "documentType", "string"),
    ("CurrencyCode", "currencyCode", "string"),
    ("TotalCharges", "totalCharges", "decimal"),
    ("PaidAmount", "paidAmount", "decimal"),
)


@dataclass(frozen=True)
class ListedInvoice:
    """An invoice or amendment as listed, with what the lake needs of it."""

    id: str
    body: dict[str, Any]
    parent: dict[str, Any] | None  # the invoice an amendment amends

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.body)

    @property
    def currency(self) -> str:
        """The invoice's currency (an amendment without one: its invoice's)."""
        code = self.body.get("currencyCode") or (self.parent or {}).get("currencyCode")
        return str(code or "").upper()

    @property
    def billing_month(self) -> int:
        """YYYYMM of the billing period (the parent's for an amendment without one)."""
        for source in (self.body, self.parent or {}):
            for key in ("billingPeriodStartDate", "invoiceDate"):
                moment = to_datetime(source.get(key))
                if moment is not None:
                    return moment.year * 100 + moment.month
        return 0


def to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_invoices(client: PartnerCenterClient, since: date | None) -> list[ListedInvoice]:
    """Every invoice on or after ``since`` (all when None), each amendment after its invoice."""
    query = date_filter(since) if since else None
    return list(flatten(client.invoices(filter=query)))


def flatten(items: Iterable[dict[str, Any]]) -> Iterator[ListedInvoice]:
    seen: set[str] = set()
    for item in items:
        invoice_id = str(item.get("id") or "")
        if not invoice_id or invoice_id in seen:
            continue
        seen.add(invoice_id)
        yield ListedInvoice(invoice_id, item, None)
        for amendment in item.get("amendments") or []:
            amendment_id = str(amendment.get("id") or "")
            if amendment_id and amendment_id not in seen:
                seen.add(amendment_id)
                yield ListedInvoice(amendment_id, amendment, item)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def write_invoices(invoices: list[ListedInvoice], target: Path) -> int:
    """The invoices table as one Parquet file at ``target`` (replaced by the caller)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from billport.outputs.arrow import DEFAULT_SCALE, arrow_type, places

    values: dict[str, list[Any]] = {name: [] for name, _, _ in COLUMNS}
    for invoice in invoices:
        body = {**invoice.body, "amendsOf": invoice.body.get("amendsOf") or (
            invoice.parent or {}).get("id")}  # fmt: skip
        for name, key, kind in COLUMNS:
            raw = body.get(key)
            if kind == "decimal":
                values[name].append(_decimal(raw))
            elif kind == "datetime":
                values[name].append(to_datetime(raw))
            else:
                values[name].append(None if raw is None else str(raw))
    amounts = [v for name, _, k in COLUMNS if k == "decimal" for v in values[name]]
    scale = max(DEFAULT_SCALE, places(amounts))
    schema = pa.schema([pa.field(n, arrow_type(k, scale)) for n, _, k in COLUMNS]).append(
        pa.field("BillingMonth", pa.int64())
    )
    values["BillingMonth"] = [i.billing_month for i in invoices]
    table = pa.table({f.name: pa.array(values[f.name], f.type) for f in schema}, schema=schema)
    pq.write_table(table, target)
    return int(table.num_rows)
