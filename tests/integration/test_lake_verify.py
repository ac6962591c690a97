"""``billport verify`` and the DuckDB catalog over a lake synced from rows this test wrote.

The rows follow Microsoft's rounding rules exactly (a seat-based charge, Azure plan usage, a
credit), so a good lake verifies; one hand-altered ``Subtotal`` in the Parquet is named by
its row. The FOCUS view has exactly the FOCUS 1.2 columns (with the 1.3 additions and the
CSP ``x_`` columns) and types written below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from billport.billing.datasets import AttributeSet, Dataset
from billport.cli import main
from billport.lake.paths import billed_partition
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices, line_items
from tests.support.exports import TENANT, add_invoice, add_partner, render
from tests.support.lake import Live, live_billport, run_sync

INVOICE = "G000000777"
# (customer, order, product, charge type, price, quantity, rate, subtotal, tax)
LINES = (
    ("Contoso", "o-1", "CFQ7TTC0LH18", "Cycle charge", "11.723", "3", "1.1", "38.67", "3.87"),
    ("Fabrikam", "o-2", "DZH318Z0BNZ5", "New", "0.045", "123.4567", "1.1", "6.10", "0.61"),
    ("Northwind", "o-3", "CFQ7TTC0LF8Q", "Cancel", "-1.239", "1", "1", "-1.23", "0"),
)
# FOCUS 1.2 columns (FocusCost 1.2), then 1.3's additions, then the CSP x_ columns.
FOCUS_12 = {
    "AvailabilityZone": "VARCHAR", "BilledCost": "DECIMAL(38,12)",
    "BillingAccountId": "VARCHAR", "BillingAccountName": "VARCHAR",
    "BillingAccountType": "VARCHAR", "BillingCurrency": "VARCHAR",
    "BillingPeriodEnd": "TIMESTAMP WITH TIME ZONE",
    "BillingPeriodStart": "TIMESTAMP WITH TIME ZONE",
    "CapacityReservationId": "VARCHAR", "CapacityReservationStatus": "VARCHAR",
    "ChargeCategory": "VARCHAR", "ChargeClass": "VARCHAR", "ChargeDescription": "VARCHAR",
    "ChargeFrequency": "VARCHAR", "ChargePeriodEnd": "TIMESTAMP WITH TIME ZONE",
    "ChargePeriodStart": "TIMESTAMP WITH TIME ZONE", "CommitmentDiscountCategory": "VARCHAR",
    "CommitmentDiscountId": "VARCHAR", "CommitmentDiscountName": "VARCHAR",
    "CommitmentDiscountQuantity": "DECIMAL(38,12)", "CommitmentDiscountStatus": "VARCHAR",
    "CommitmentDiscountType": "VARCHAR", "CommitmentDiscountUnit": "VARCHAR",
    "ConsumedQuantity": "DECIMAL(38,12)", "ConsumedUnit": "VARCHAR",
    "ContractedCost": "DECIMAL(38,12)", "ContractedUnitPrice": "DECIMAL(38,12)",
    "EffectiveCost": "DECIMAL(38,12)", "InvoiceId": "VARCHAR", "InvoiceIssuerName": "VARCHAR",
    "ListCost": "DECIMAL(38,12)", "ListUnitPrice": "DECIMAL(38,12)", "PricingCategory": "VARCHAR",
    "PricingCurrency": "VARCHAR", "PricingCurrencyContractedUnitPrice": "DECIMAL(38,12)",
    "PricingCurrencyEffectiveCost": "DECIMAL(38,12)",
    "PricingCurrencyListUnitPrice": "DECIMAL(38,12)", "PricingQuantity": "DECIMAL(38,12)",
    "PricingUnit": "VARCHAR", "ProviderName": "VARCHAR", "PublisherName": "VARCHAR",
    "RegionId": "VARCHAR", "RegionName": "VARCHAR", "ResourceId": "VARCHAR",
    "ResourceName": "VARCHAR", "ResourceType": "VARCHAR", "ServiceCategory": "VARCHAR",
    "ServiceName": "VARCHAR", "ServiceSubcategory": "VARCHAR", "SkuId": "VARCHAR",
    "SkuMeter": "VARCHAR", "SkuPriceDetails": "VARCHAR", "SkuPriceId": "VARCHAR",
    "SubAccountId": "VARCHAR", "SubAccountName": "VARCHAR", "SubAccountType": "VARCHAR",
    "Tags": "VARCHAR",
}  # fmt: skip
FOCUS_13 = {"ContractApplied": "VARCHAR", "HostProviderName": "VARCHAR",
            "ServiceProviderName": "VARCHAR"}  # fmt: skip
CSP = {
    "x_BillingExchangeRate": "DECIMAL(38,12)",
    "x_BillingExchangeRateDate": "TIMESTAMP WITH TIME ZONE", "x_ChargeType": "VARCHAR",
    "x_CustomerId": "VARCHAR", "x_CustomerName": "VARCHAR",
    "x_EffectiveUnitPrice": "DECIMAL(38,12)", "x_InvoiceIssuerId": "VARCHAR",
    "x_OrderId": "VARCHAR", "x_PartnerCreditApplied": "BOOLEAN",
    "x_PartnerCreditRate": "DECIMAL(38,12)", "x_ResellerId": "VARCHAR",
    "x_SkuMeterId": "VARCHAR", "x_SourceDataset": "VARCHAR", "x_TaxTotal": "DECIMAL(38,12)",
}  # fmt: skip


def load(runtime: Runtime) -> None:
    """TENANT with one modern invoice whose three lines follow the rules to the cent."""
    rows, total = [], Decimal(0)
    for customer, order, product, charge, price, quantity, rate, subtotal, tax in LINES:
        line_total = Decimal(subtotal) + Decimal(tax)
        total += line_total
        values: dict[str, Any] = {
            "PartnerId": TENANT, "CustomerId": f"id-{customer}", "CustomerName": customer,
            "InvoiceNumber": INVOICE, "OrderId": order, "ProductId": product, "SkuId": "0001",
            "SkuName": f"{product} SKU", "ChargeType": charge, "Currency": "USD",
            "PricingCurrency": "USD", "EffectiveUnitPrice": Decimal(price),
            "UnitPrice": Decimal(price), "BillableQuantity": Decimal(quantity),
            "PCToBCExchangeRate": Decimal(rate), "Subtotal": Decimal(subtotal),
            "TaxTotal": Decimal(tax), "Total": line_total, "SubscriptionId": f"s-{order}",
        }  # fmt: skip
        rows.append(dict(
            tenant_id=TENANT, dataset=Dataset.BILLED_RECONCILIATION.code, invoice_id=INVOICE,
            billing_month=202610, currency="USD", customer_id=values["CustomerId"],
            charge_type=charge, total=line_total, rev=0,
            doc_full=render(Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, values),
            doc_basic=render(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC, values),
        ))  # fmt: skip
    with runtime.db.begin() as conn:
        add_partner(conn, TENANT, True)
        add_invoice(conn, TENANT, INVOICE, "modern")
        conn.execute(
            sa.update(invoices).where(invoices.c.invoice_id == INVOICE).values(total_charges=total)
        )
        conn.execute(line_items.insert(), rows)


@pytest.fixture
def lake(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("BILLPORT_NOW", str(settings.now))  # the CLI signs at the server's clock
    live: Live
    with live_billport(settings, load) as live:
        code, lines = run_sync(live, tmp_path / "lake", "--datasets", "billed-reconciliation")
        assert code == 0, lines
    yield tmp_path / "lake"


def verify(lake: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", "--lake", str(lake), *extra])
    return result.exit_code, result.output


def test_a_good_lake_verifies_and_an_altered_subtotal_is_named(lake: Path) -> None:
    code, output = verify(lake)
    assert code == 0, output
    assert output.endswith("3 rows of 1 invoices checked: OK\n")

    part = billed_partition(lake, "billedReconciliation", 202610, INVOICE)
    table = pq.read_table(part)
    index = table.schema.get_field_index("Subtotal")
    values = table.column(index).to_pylist()
    values[1] += Decimal("0.01")  # the Azure usage line, by hand
    altered = table.set_column(
        index, table.schema.field(index), pa.array(values, table.schema.field(index).type)
    )
    pq.write_table(altered, part)

    code, output = verify(lake)
    assert code == 1
    assert (
        f"row 2: invoice {INVOICE}, customer Fabrikam (id-Fabrikam), subscription s-o-2, "
        "order o-2, product DZH318Z0BNZ5 SKU 0001"
    ) in output
    assert "Subtotal (usage-based ROUNDDOWN rule): expected 6.10, found 6.11" in output
    assert "Total = Subtotal + TaxTotal: expected 6.72, found 6.71" in output
    assert "2 mismatches" in output  # the row twice; its Total, so the invoice's, is as it was
    code, output = verify(lake, "--format", "json")
    report = json.loads(output)
    assert (code, report["ok"], report["mismatches"]) == (1, False, 2)


def test_the_catalog_has_a_view_per_dataset_and_focus_views_in_focus_columns(lake: Path) -> None:
    con = duckdb.connect(str(lake / "billport.duckdb"), read_only=True)
    try:
        views = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        columns = {r[0]: r[1] for r in con.execute("DESCRIBE focus").fetchall()}
        rows = con.execute(
            "SELECT x_CustomerName, ChargeCategory, BilledCost, SkuId, InvoiceId, "
            "BillingPeriodStart, x_SourceDataset FROM focus ORDER BY x_OrderId"
        ).fetchall()
        lines_vs_invoice = con.execute(
            "SELECT i.TotalCharges, sum(r.Total) FROM invoices i "
            "JOIN billed_reconciliation r ON r.invoice = i.InvoiceId GROUP BY ALL"
        ).fetchall()
        empty = con.execute("SELECT count(*) FROM billed_usage").fetchone()
    finally:
        con.close()
    assert {"billed_reconciliation", "billed_usage", "unbilled_reconciliation", "unbilled_usage",
            "invoices", "focus", "focus_usage"} <= views  # fmt: skip
    assert columns == {**FOCUS_12, **FOCUS_13, **CSP}
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("Contoso", "Purchase", Decimal("38.67"), "CFQ7TTC0LH18:0001", INVOICE),
        ("Fabrikam", "Purchase", Decimal("6.10"), "DZH318Z0BNZ5:0001", INVOICE),
        ("Northwind", "Credit", Decimal("-1.23"), "CFQ7TTC0LF8Q:0001", INVOICE),
    ]
    assert {(r[5].year, r[5].month, r[5].day, r[6]) for r in rows} == {
        (2026, 10, 1, "billed_reconciliation")
    }
    assert lines_vs_invoice == [(Decimal("48.02"), Decimal("48.02"))]
    assert empty == (0,)  # a dataset not synced is an empty, typed view
