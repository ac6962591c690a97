"""Export action bodies (spec §2.3)."""

from __future__ import annotations

import pytest

from billport.billing.datasets import AttributeSet, BillingPeriod, Dataset
from billport.billing.operations import parse_export_request
from billport.errors import InvalidRequest


def test_billed_defaults_to_full() -> None:
    req = parse_export_request(Dataset.BILLED_RECONCILIATION, {"invoiceId": "G016907411"})
    assert req.invoice_id == "G016907411"
    assert req.attribute_set is AttributeSet.FULL


@pytest.mark.parametrize("value", ["basic", "Basic", "BASIC"])
def test_enum_values_in_any_case(value: str) -> None:
    req = parse_export_request(Dataset.BILLED_USAGE, {"invoiceId": "G1", "attributeSet": value})
    assert req.attribute_set is AttributeSet.BASIC


def test_unbilled_needs_period_and_currency() -> None:
    req = parse_export_request(
        Dataset.UNBILLED_USAGE, {"billingPeriod": "Last", "currencyCode": "eur"}
    )
    assert req.billing_period is BillingPeriod.LAST
    assert req.currency == "EUR"


@pytest.mark.parametrize(
    ("dataset", "body", "fragment"),
    [
        (Dataset.BILLED_RECONCILIATION, {}, "'invoiceId' is required"),
        (Dataset.BILLED_RECONCILIATION, {"invoiceId": ""}, "invoiceId"),
        (Dataset.BILLED_RECONCILIATION, {"invoiceId": 12}, "invoiceId"),
        (
            Dataset.BILLED_RECONCILIATION,
            {"invoiceId": "G1", "attributeSet": "unknownFutureValue"},
            "attributeSet",
        ),
        (Dataset.BILLED_RECONCILIATION, {"invoiceId": "G1", "attributeSet": 1}, "attributeSet"),
        (
            Dataset.BILLED_RECONCILIATION,
            {"invoiceId": "G1", "currencyCode": "USD"},
            "'currencyCode' is not supported",
        ),
        (Dataset.UNBILLED_RECONCILIATION, {"currencyCode": "USD"}, "'billingPeriod' is required"),
        (Dataset.UNBILLED_RECONCILIATION, {"billingPeriod": "current"}, "currencyCode"),
        (
            Dataset.UNBILLED_RECONCILIATION,
            {"billingPeriod": "unknownFutureValue", "currencyCode": "USD"},
            "billingPeriod",
        ),
        (Dataset.UNBILLED_USAGE, {"billingPeriod": "current", "currencyCode": "US"}, "ISO 4217"),
        (Dataset.UNBILLED_USAGE, {"billingPeriod": "current", "currencyCode": "U$D"}, "ISO 4217"),
        (
            Dataset.UNBILLED_USAGE,
            {"billingPeriod": "current", "currencyCode": "USD", "invoiceId": "G1"},
            "'invoiceId' is not supported",
        ),
        (Dataset.UNBILLED_USAGE, [], "JSON object"),
        (Dataset.BILLED_USAGE, {"invoiceId": "G" * 21}, "longer than"),
    ],
)
def test_malformed_bodies(dataset: Dataset, body: object, fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=fragment.replace("(", r"\(")):
        parse_export_request(dataset, body)
