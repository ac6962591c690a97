"""Blob directory layout and names (spec §4.3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.scopes import Scope
from billport.exports.layout import etag, part_name, root_path

WHEN = datetime(2026, 11, 21, 8, 5, 9, tzinfo=UTC)


def test_billed_usage_root() -> None:
    scope = Scope("tid", Dataset.BILLED_USAGE, AttributeSet.BASIC, 202610, invoice_id="G016907411")
    assert root_path(scope, WHEN) == (
        "billedusagefastpath/v1/PartnerTenantId=tid/BillingMonth=202610/InvoiceId=G016907411/"
        "InvoiceVersion=20261121080509/Fragment=basic/PartitionType=default"
    )


def test_unbilled_usage_root_has_snapshot_and_currency() -> None:
    scope = Scope("tid", Dataset.UNBILLED_USAGE, AttributeSet.FULL, 202611, currency="INR")
    assert root_path(scope, WHEN) == (
        "unbilledusagefastpath/v1/20261121080509/PartnerTenantId=tid/BillingMonth=202611/"
        "Currency=INR/Fragment=full/PartitionType=default"
    )


def test_part_names_are_spark_style() -> None:
    assert re.fullmatch(r"part-00007-[0-9a-f-]{36}\.c000\.json\.gz", part_name(7))


def test_etag_is_stable_and_data_sensitive() -> None:
    assert etag("k", "1:1:5") == etag("k", "1:1:5")
    assert etag("k", "1:1:5") != etag("k", "1:1:6")
    assert re.fullmatch(r"[0-9A-Za-z]{17}", etag("k", "x"))


def test_scope_key_separates_attribute_sets() -> None:
    full = Scope("t", Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, 1, invoice_id="G1")
    basic = Scope("t", Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC, 1, invoice_id="G1")
    assert full.key != basic.key
