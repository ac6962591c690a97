"""Invoice headers from a saved Partner Center ``GET /v1/invoices`` response body (the
collection, ``{"totalCount": …, "items": [...]}``, or one invoice object), as rows of the
``invoices`` table (nested ``amendments`` become rows of their own, ``amends_of`` set).

A header file is small (one entry per invoice), so it is parsed whole, numbers as Decimal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from billport.errors import InvalidRequest

MAX_ID = 20  # invoices.invoice_id
DOCUMENT_TYPES = ("invoice", "void_note", "adjustment_note")


@dataclass(frozen=True)
class Header:
    """One invoice header; ``row`` is the ``invoices`` row without its tenant."""

    file: str
    row: dict[str, Any]
    period_guessed: bool  # billingPeriod*Date absent: the month before invoiceDate

    @property
    def invoice_id(self) -> str:
        return str(self.row["invoice_id"])

    @property
    def billing_month(self) -> int:
        start: datetime = self.row["billing_period_start"]
        return start.year * 100 + start.month


def is_invoices_document(document: object) -> bool:
    """A ``GET /v1/invoices`` body (collection or one invoice), not a Graph manifest."""
    if not isinstance(document, dict):
        return False
    if isinstance(document.get("items"), list):
        return True
    return "invoiceDate" in document and "id" in document


def read_headers(path: Path, name: str) -> list[Header]:
    try:
        document = json.loads(path.read_text("utf-8"), parse_float=Decimal, parse_int=Decimal)
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{name}: not a JSON document ({exc})") from None
    items = document.get("items") if isinstance(document, dict) else None
    entries = items if isinstance(items, list) else [document]
    headers: list[Header] = []
    for number, item in enumerate(entries):
        where = f"{name}, items[{number}]" if isinstance(items, list) else name
        parent = _header(item, where, name, None)
        headers.append(parent)
        for index, amendment in enumerate(item.get("amendments") or []):
            headers.append(_header(amendment, f"{where}.amendments[{index}]", name, parent))
    return headers


def _header(item: Any, where: str, file: str, parent: Header | None) -> Header:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{where}: an invoice must be a JSON object")
    invoice_id = _text(item, "id", where)
    if not invoice_id or len(invoice_id) > MAX_ID or not invoice_id.isalnum():
        raise InvalidRequest(f"{where}.id: an invoice id is 1 to {MAX_ID} letters and digits")
    currency = _text(item, "currencyCode", where).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidRequest(f"{where}.currencyCode: a currency must be a 3-letter code")
    invoice_date = _instant(item, "invoiceDate", where)
    guessed = False
    if parent is not None and "billingPeriodStartDate" not in item:
        start, end = (parent.row["billing_period_start"], parent.row["billing_period_end"])
    elif "billingPeriodStartDate" in item or "billingPeriodEndDate" in item:
        start = _instant(item, "billingPeriodStartDate", where)
        end = _instant(item, "billingPeriodEndDate", where)
    else:
        start, end, guessed = *_month_before(invoice_date), True
    invoice_type = str(item.get("invoiceType") or "OneTime")
    invoice_type = {"recurring": "Recurring", "onetime": "OneTime", "one_time": "OneTime"}.get(
        invoice_type.lower(), invoice_type
    )
    document_type = str(item.get("documentType") or "invoice")
    if document_type not in DOCUMENT_TYPES:
        raise InvalidRequest(f"{where}.documentType: one of {', '.join(DOCUMENT_TYPES)}")
    row = {
        "invoice_id": invoice_id,
        "invoice_date": invoice_date,
        "billing_period_start": start,
        "billing_period_end": end,
        "total_charges": _money(item, "totalCharges", where),
        "paid_amount": _money(item, "paidAmount", where),
        "currency_code": currency,
        "currency_symbol": str(item.get("currencySymbol") or currency)[:8],
        "document_type": document_type,
        "invoice_type": invoice_type,
        # billport's convention: Recurring invoices are legacy commerce, OneTime new commerce
        "commerce": "legacy" if invoice_type == "Recurring" else "modern",
        "amends_of": parent.invoice_id if parent is not None else item.get("amendsOf"),
        "details": _details(item, where),
        "tax_receipts": json.dumps(
            [str(r.get("id")) for r in item.get("taxReceipts") or [] if isinstance(r, dict)],
            separators=(",", ":"),
        ),
    }
    return Header(file, row, guessed)


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{key}: a string is required")
    return value.strip()


def _money(item: dict[str, Any], key: str, where: str) -> Decimal:
    value = item.get(key, Decimal(0))
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidRequest(f"{where}.{key}: a JSON number is required")
    return value


def _instant(item: dict[str, Any], key: str, where: str) -> datetime:
    text = _text(item, key, where)
    # .NET writes seven fractional digits; Python's parser takes at most six.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(trimmed)
    except ValueError:
        raise InvalidRequest(f"{where}.{key}: not an ISO 8601 date: {text[:40]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _month_before(day: datetime) -> tuple[datetime, datetime]:
    first = datetime(day.year, day.month, 1, tzinfo=UTC)
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime.fromtimestamp(first.timestamp() - 86400, UTC)


def _details(item: dict[str, Any], where: str) -> str:
    details = []
    for detail in item.get("invoiceDetails") or []:
        if not isinstance(detail, dict):
            raise InvalidRequest(f"{where}.invoiceDetails: objects are required")
        details.append(
            {
                "invoiceLineItemType": str(detail.get("invoiceLineItemType", "none")),
                "billingProvider": str(detail.get("billingProvider", "none")),
            }
        )
    return json.dumps(details, separators=(",", ":"))
