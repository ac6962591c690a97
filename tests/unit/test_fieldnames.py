"""Key spellings -> canonical export field names (spec §5.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.billing.fieldnames import canonical_key, canonicalize, key_map


@pytest.mark.parametrize("dataset", list(Dataset))
def test_every_field_in_any_casing(dataset: Dataset) -> None:
    key = canonical_key(dataset)
    for name in field_names(dataset):
        for spelling in (name, name.lower(), name.upper(), name[0].lower() + name[1:]):
            assert key(spelling) == name


@pytest.mark.parametrize(
    ("dataset", "alias", "name"),
    [
        (Dataset.BILLED_RECONCILIATION, "totalForCustomer", "Total"),
        (Dataset.UNBILLED_RECONCILIATION, "resellerMpnId", "Tier2MpnId"),
        (Dataset.BILLED_USAGE, "resellerMpnId", "Tier2MpnId"),
        (Dataset.BILLED_USAGE, "unitOfMeasure", "Unit"),
        (Dataset.UNBILLED_USAGE, "resourceUri", "ResourceURI"),
        (Dataset.BILLED_USAGE, "pcToBCExchangeRate", "PCToBCExchangeRate"),
        (Dataset.BILLED_RECONCILIATION, "pcToBCExchangeRateDate", "PCToBCExchangeRateDate"),
        (Dataset.BILLED_USAGE, "benefitOrderId", "BenefitOrderID"),
        (Dataset.BILLED_USAGE, "benefitId", "BenefitID"),
        (Dataset.BILLED_USAGE, "rateOfPartnerEarnedCredit", "PartnerEarnedCreditPercentage"),
        (Dataset.UNBILLED_USAGE, "RATEOFCREDIT", "CreditPercentage"),
    ],
)
def test_aliases(dataset: Dataset, alias: str, name: str) -> None:
    assert canonical_key(dataset)(alias) == name


def test_aliases_only_where_the_dataset_has_the_field() -> None:
    # Usage has no "Total": the reconciliation alias must not invent one.
    assert canonical_key(Dataset.BILLED_USAGE)("totalForCustomer") == "totalForCustomer"
    assert canonical_key(Dataset.BILLED_RECONCILIATION)("unitOfMeasure") == "unitOfMeasure"


def test_basic_set_resolves_only_its_fields() -> None:
    key = canonical_key(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    assert key("total") == "Total"
    assert key("mpnid") == "mpnid"  # full-only field: unknown to the basic set


def test_canonicalize_keeps_unknown_keys_and_values() -> None:
    row = {"customerId": "c", "totalForCustomer": Decimal("1.50"), "Custom": [1]}
    assert canonicalize(row, Dataset.BILLED_RECONCILIATION) == {
        "CustomerId": "c",
        "Total": Decimal("1.50"),
        "Custom": [1],
    }


@pytest.mark.parametrize(
    ("value", "percent"),
    [("0.15", Decimal("15.00")), (0.15, Decimal("15.00")), (1, Decimal(100)), ("", "")],
)
def test_rate_aliases_scale_to_percentages(value: object, percent: object) -> None:
    row = canonicalize({"rateOfPartnerEarnedCredit": value}, Dataset.BILLED_USAGE)
    assert row == {"PartnerEarnedCreditPercentage": percent}


def test_two_spellings_of_one_field_are_refused() -> None:
    with pytest.raises(ValueError, match="both name the field 'Total'"):
        canonicalize({"Total": 1, "totalForCustomer": 2}, Dataset.BILLED_RECONCILIATION)
    with pytest.raises(ValueError):
        key_map(["CustomerId", "customerid"], Dataset.BILLED_USAGE)
