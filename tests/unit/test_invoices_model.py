"""Invoice ids, paging limits and stored-column decoding (no I/O)."""

from __future__ import annotations

import pytest

from billport.billing.invoices import (
    DEFAULT_PAGE_SIZE,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    InvoiceDetail,
    InvoiceRef,
    PageRequest,
    invoice_details_from_json,
    parse_invoice_ref,
    tax_receipts_from_json,
)
from billport.errors import InvalidRequest, NotFound


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D02005YFHI", InvoiceRef("D02005YFHI")),
        ("Recurring-D02005YFHI", InvoiceRef("D02005YFHI", "Recurring")),
        ("recurring-D02005YFHI", InvoiceRef("D02005YFHI", "Recurring")),
        ("OneTime-G000024130", InvoiceRef("G000024130", "OneTime")),
        ("ONETIME-G000024130", InvoiceRef("G000024130", "OneTime")),
        ("Other-G000024130", InvoiceRef("Other-G000024130")),
    ],
)
def test_invoice_refs(raw: str, expected: InvoiceRef) -> None:
    assert parse_invoice_ref(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "Recurring-", "X" * 21, "OneTime-" + "X" * 21, "G0001\x00", "Gé000", "a b", "a/b"]
)
def test_impossible_ids_are_not_found(raw: str) -> None:
    with pytest.raises(NotFound):
        parse_invoice_ref(raw)


def test_page_defaults() -> None:
    assert PageRequest.of(None, None) == PageRequest(DEFAULT_PAGE_SIZE, 0)
    assert PageRequest.of(1, MAX_OFFSET) == PageRequest(1, MAX_OFFSET)
    assert PageRequest.of(MAX_PAGE_SIZE, 0).size == MAX_PAGE_SIZE


@pytest.mark.parametrize(
    ("size", "offset", "message"),
    [
        (0, 0, "size must be"),
        (-1, 0, "size must be"),
        (MAX_PAGE_SIZE + 1, 0, "size must be"),
        (10**40, 0, "size must be"),
        (10, -1, "offset must be"),
        (10, MAX_OFFSET + 1, "offset must be"),
    ],
)
def test_page_limits(size: int, offset: int, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        PageRequest.of(size, offset)


def test_stored_columns_decode() -> None:
    details = invoice_details_from_json(
        '[{"invoiceLineItemType": "billing_line_items", "billingProvider": "one_time"}]'
    )
    assert details == (InvoiceDetail("billing_line_items", "one_time"),)
    assert details[0].path_provider == "OneTime"
    assert details[0].path_line_item_type == "BillingLineItems"
    assert InvoiceDetail("usage_line_items", "azure").path_provider == "Azure"
    assert tax_receipts_from_json('["123456", 234567]') == ("123456", "234567")
