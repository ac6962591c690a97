"""``--anonymise`` (billport/ingest/anonymise.py): same input and key, same pseudonym;
another key, another; ids inside ResourceURI follow their fields; amounts untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

from billport.billing.datasets import AttributeSet, Dataset
from billport.ingest.anonymise import DEFAULT_KEY, Anonymiser
from billport.ingest.files import Source
from billport.ingest.reader import Reader
from tests.support.exports import line_values, render

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
SUB = "1A2B3C4D-0000-4000-8000-00000000AAAA"
CUSTOMER = "6e75cca6-0000-4000-8000-000000000002"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def row() -> dict[str, str]:
    uri = f"/subscriptions/{SUB.lower()}/resourceGroups/Contoso-Prod/providers/x/vm1"
    values = {
        "PartnerId": "0e195b37-4574-4539-bc42-0e539b9684c0",
        "PartnerName": "Fabrikam CSP",
        "CustomerId": CUSTOMER,
        "CustomerName": "Contoso Ltd",
        "CustomerDomainName": "contoso.onmicrosoft.com",
        "MpnId": "1234567",
        "Tier2MpnId": "",
        "EntitlementId": SUB,
        "EntitlementDescription": "Contoso production",
        "ResourceGroup": "contoso-prod",
        "ResourceURI": uri,
        "Tags": '{"owner":"ops@contoso.onmicrosoft.com"}',
        "SkuName": "D2 v3",
    }
    raw = {name: json.dumps(value) for name, value in values.items()}
    return {**raw, "BillingPreTaxTotal": "0.0000710833", "Quantity": "null"}


def text(pairs: dict[str, str], name: str) -> str:
    return str(json.loads(pairs[name]))


def test_same_input_same_pseudonym_under_one_key() -> None:
    first, second = Anonymiser().pairs(row()), Anonymiser(DEFAULT_KEY).pairs(row())
    assert first == second
    other = Anonymiser("a private key").pairs(row())
    assert other["CustomerId"] != first["CustomerId"]
    assert other["BillingPreTaxTotal"] == first["BillingPreTaxTotal"]


def test_every_identifying_field_is_replaced_and_amounts_kept() -> None:
    original, out = row(), Anonymiser().pairs(row())
    for name in ("PartnerId", "CustomerId", "EntitlementId"):
        assert GUID.fullmatch(text(out, name)), name
        assert out[name] != original[name]
    assert re.fullmatch(r"Customer [0-9a-f]{8}", text(out, "CustomerName"))
    assert re.fullmatch(r"Partner [0-9a-f]{8}", text(out, "PartnerName"))
    assert re.fullmatch(r"Subscription [0-9a-f]{8}", text(out, "EntitlementDescription"))
    assert re.fullmatch(r"d[0-9a-f]{10}\.onmicrosoft\.com", text(out, "CustomerDomainName"))
    assert re.fullmatch(r"[1-9][0-9]{6}", text(out, "MpnId")) and text(out, "MpnId") != "1234567"
    assert out["Tier2MpnId"] == '""'  # empty stays empty
    assert out["SkuName"] == original["SkuName"]  # products are not who
    assert out["BillingPreTaxTotal"] == "0.0000710833" and out["Quantity"] == "null"


def test_ids_inside_free_text_follow_their_fields() -> None:
    out = Anonymiser().pairs(row())
    uri = text(out, "ResourceURI")
    # The subscription GUID in the URI (lower case) is the pseudonym of EntitlementId (upper).
    assert uri.startswith(f"/subscriptions/{text(out, 'EntitlementId')}/resourceGroups/")
    # Resource groups are case-insensitive: the field and the URI segment agree.
    assert f"/resourceGroups/{text(out, 'ResourceGroup')}/" in uri
    assert "contoso" not in uri.lower()
    assert text(out, "CustomerDomainName") in text(out, "Tags")
    assert "contoso" not in text(out, "Tags")


def test_the_same_customer_in_another_dataset_gets_the_same_pseudonym() -> None:
    anonymiser = Anonymiser()
    usage = anonymiser.pairs(row())
    recon = Anonymiser().pairs({"CustomerId": json.dumps(CUSTOMER.upper()), "Total": "1.00"})
    assert recon["CustomerId"] == usage["CustomerId"]


def test_export_blob_rows_are_anonymised_too() -> None:
    """A Graph blob's row is rebuilt from its pseudonymised values (both attribute sets)."""
    values = line_values(Dataset.BILLED_USAGE, TENANT, 1, "USD", "G1")
    line = render(Dataset.BILLED_USAGE, AttributeSet.FULL, values)
    reader = Reader(TENANT, lambda invoice: 202610, read=lambda s: [(1, line)],
                    anonymiser=Anonymiser())  # fmt: skip
    ((row,),) = list(reader.batches([Source(Path("p.json.gz"), "p.json.gz")]))
    full, basic, original = json.loads(row[9]), json.loads(row[10]), json.loads(line)
    assert list(full) == list(original)
    for name in ("CustomerId", "CustomerName", "PartnerId"):
        assert original[name] and full[name] != original[name], name
        assert basic.get(name, full[name]) == full[name], name
    assert full["BillingPreTaxTotal"] == original["BillingPreTaxTotal"]
    assert row[5] == full["CustomerId"]  # the stored customer column follows the pseudonym
