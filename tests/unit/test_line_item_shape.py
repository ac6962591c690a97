"""The v1 line-item shape of stored Graph documents, its inverse, and the retired queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.billing.fieldnames import canonical_key
from billport.billing.invoices import InvoiceDetail, invoice_details_from_json
from billport.billing.line_items import (
    DECODER,
    LISTINGS,
    ItemKind,
    Provider,
    graph_row,
    has_listing,
    listing_for,
    parse_kind,
    parse_provider,
    v1_item,
)
from billport.billing.retirement import retirement
from billport.errors import InvalidRequest
from billport.seed.world import MODERN_DETAILS
from tests.support.exports import line_values, render
from tests.unit.test_invoices_json import SEED_RECURRING

RECON = LISTINGS[(Provider.ONETIME, ItemKind.BILLING)]
USAGE = LISTINGS[(Provider.ONETIME, ItemKind.USAGE)]


def usage_doc() -> bytes:
    values = line_values(Dataset.BILLED_USAGE, "t", 3, "USD", "G1")
    values.update(
        PartnerEarnedCreditPercentage=Decimal("15"),
        CreditPercentage=Decimal("100"),
        Tags='{"env":"prod","owner":"x"}',
        ResourceURI="/subscriptions/s/rg",
        Unit="1 Hour",
        Tier2MpnId="123456",
    )
    return render(Dataset.BILLED_USAGE, AttributeSet.FULL, values)


def test_usage_rows_take_the_v1_names_and_scales() -> None:
    item = v1_item(usage_doc(), USAGE)
    assert item["rateOfPartnerEarnedCredit"] == Decimal("0.15")  # v1: a fraction
    assert item["rateOfCredit"] == Decimal("1.00")
    assert item["tags"] == {"env": "prod", "owner": "x"}  # JSON, not JSON text
    assert item["resourceUri"] == "/subscriptions/s/rg"
    assert item["unitOfMeasure"] == "1 Hour"
    assert item["resellerMpnId"] == "123456"
    assert item["pcToBCExchangeRate"] == 0
    assert item["billingPreTaxTotal"] == Decimal("3.123456")
    assert (item["invoiceLineItemType"], item["billingProvider"]) == (
        "usage_line_items",
        "marketplace",
    )
    assert item["attributes"] == {"objectType": "DailyRatedUsageLineItem"}


def test_recon_rows_carry_total_for_customer_exactly() -> None:
    values = line_values(Dataset.BILLED_RECONCILIATION, "t", 2, "USD", "G1")
    values["ProductQualifiers"] = '["Trial","Promo"]'
    doc = render(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, values)
    item = v1_item(doc, RECON)
    assert item["totalForCustomer"] == Decimal("2.123456")
    assert item["unitPrice"] == Decimal("99999999999.999999")  # never through float
    assert item["productQualifiers"] == ["Trial", "Promo"]
    assert item["attributes"] == {"objectType": "OneTimeInvoiceLineItem"}
    assert item["billingProvider"] == "one_time"


@pytest.mark.parametrize("dataset", [Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE])
def test_graph_row_inverts_v1_item(dataset: Dataset) -> None:
    doc = (
        usage_doc()
        if dataset.usage
        else render(dataset, AttributeSet.FULL, line_values(dataset, "t", 5, "EUR", "G2"))
    )
    listing = USAGE if dataset.usage else RECON
    original = DECODER.decode(doc.decode())
    back = graph_row(v1_item(doc, listing))
    assert back == original
    assert list(back) == list(field_names(dataset))


@pytest.mark.parametrize("dataset", [Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE])
def test_every_v1_key_lands_on_its_field_in_the_outputs(dataset: Dataset) -> None:
    """billport's output writers read v1 files into the same columns as Graph files."""
    doc = render(dataset, AttributeSet.FULL, line_values(dataset, "t", 1, "USD", "G3"))
    item = v1_item(doc, USAGE if dataset.usage else RECON)
    resolve = canonical_key(dataset)
    keys = [k for k in item if k not in ("invoiceLineItemType", "billingProvider", "attributes")]
    assert [resolve(k) for k in keys] == list(field_names(dataset))


def test_url_spellings() -> None:
    assert parse_provider(" ONETIME ") is Provider.ONETIME
    assert parse_kind("usagelineitems") is ItemKind.USAGE
    assert listing_for(Provider.MARKETPLACE, ItemKind.USAGE) is USAGE
    for bad in ("one_time", "", None, "all"):
        with pytest.raises(InvalidRequest, match="provider"):
            parse_provider(bad)
    with pytest.raises(InvalidRequest, match="not valid"):
        parse_kind("billing_line_items")
    with pytest.raises(InvalidRequest, match="not valid"):
        listing_for(Provider.OFFICE, ItemKind.USAGE)


NOW = datetime(2026, 11, 21, tzinfo=UTC)
BEFORE = datetime(2025, 4, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dataset", "modern", "month", "now", "retired"),
    [
        (Dataset.BILLED_RECONCILIATION, True, 202610, NOW, True),
        (Dataset.BILLED_RECONCILIATION, True, 202402, NOW, True),
        (Dataset.BILLED_RECONCILIATION, True, 202401, NOW, False),
        (Dataset.BILLED_RECONCILIATION, True, 202610, BEFORE, False),
        (Dataset.BILLED_RECONCILIATION, False, 202610, NOW, False),
        (Dataset.BILLED_USAGE, True, 202209, NOW, True),
        (Dataset.BILLED_USAGE, True, 202208, NOW, False),
        (Dataset.UNBILLED_USAGE, True, 202611, NOW, True),
        (Dataset.UNBILLED_USAGE, True, 202611, BEFORE, False),
        (Dataset.UNBILLED_RECONCILIATION, True, 202611, NOW, False),
    ],
)
def test_retired_queries(
    dataset: Dataset, modern: bool, month: int, now: datetime, retired: bool
) -> None:
    reason = retirement(dataset, modern=modern, billing_month=month, now=now)
    assert (reason is not None) is retired
    if reason:
        assert "/v1.0/reports/partners/billing/" in reason


def test_invoice_details_name_their_listings() -> None:
    modern = replace(
        SEED_RECURRING, commerce="modern", invoice_type="OneTime",
        details=invoice_details_from_json(MODERN_DETAILS),
    )  # fmt: skip
    assert has_listing(modern, RECON) and has_listing(modern, USAGE)
    office = LISTINGS[(Provider.OFFICE, ItemKind.BILLING)]
    assert not has_listing(modern, office) and has_listing(SEED_RECURRING, office)
    odd = replace(modern, details=(InvoiceDetail("billing_line_items", "azure_data_market"),))
    assert not has_listing(odd, RECON)  # an unknown provider names nothing, and is no error
