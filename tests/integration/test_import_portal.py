"""``billport import`` of Partner Center portal files (issue 14): a reconciliation CSV written
from Microsoft's documented column list and a daily-rated usage CSV in the real portal
header order, exported again through the Graph API; ``GET /v1/invoices`` bodies as invoice
headers; a bad cell; re-import; ``--anonymise``. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset, field_names
from billport.errors import InvalidRequest
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices, line_items
from billport.usecases.imports import ImportReport, ImportRequest, import_blobs
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer

TENANT = data.TENANT
INVOICE = "G000123456"
CUSTOMER = "6e75cca6-1111-4000-8000-00000000c001"
SUBSCRIPTION = "2f0c3a9e-2222-4000-8000-00000000a5a5"
METER = "a1b2c3d4-0000-4000-8000-0000000000aa"
BILLING = "reports/partners/billing"
RECON = list(field_names(Dataset.BILLED_RECONCILIATION))
# spec/additions-2026.md, "Evidence from a real portal file": the full usage set with
# BenefitId first, BenefitOrderId, and PCToBCExchangeRateDate before EntitlementId.
PORTAL_USAGE = ["BenefitId"] + [
    {"BenefitOrderID": "BenefitOrderId"}.get(n, n)
    for n in field_names(Dataset.BILLED_USAGE)
    if n != "BenefitID"
]
PORTAL_USAGE.insert(PORTAL_USAGE.index("EntitlementId"), "PCToBCExchangeRateDate")
STORE = "Microsoft.Storage/storageAccounts/st1"
ADJUSTMENT = '[{"type":"Partner earned credit","percentage":"15"}]'
pytestmark = pytest.mark.slow


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=500) as runtime:
        yield runtime


def recon_row(n: int, **values: str) -> dict[str, str]:
    """A portal reconciliation record: US dates, text with JSON inside, E notation."""
    row = {name: "" for name in RECON}
    row.update(
        PartnerId=TENANT, CustomerId=CUSTOMER, CustomerName="Contoso Ltd",
        CustomerDomainName="contoso.onmicrosoft.com", CustomerCountry="US",
        InvoiceNumber=INVOICE, OrderId=f"order{n}", OrderDate="10/01/2026",
        ProductId="CFQ7TTC0LH18", SkuId="0001", AvailabilityId="CFQ7TTC0LHSV",
        SkuName="Microsoft 365 Business Basic", ProductName="Microsoft 365 Business Basic",
        ChargeType="Cycle charge", UnitPrice="6", Quantity=str(n + 1),
        Subtotal=f"{6 * (n + 1)}", TaxTotal="0.6", Total=f"{6 * (n + 1)}.6", Currency="USD",
        PriceAdjustmentDescription=ADJUSTMENT, PublisherName="Microsoft Corporation",
        SubscriptionDescription="Contoso mail", SubscriptionId=SUBSCRIPTION,
        ChargeStartDate="10/01/2026", ChargeEndDate="10/31/2026",
        TermAndBillingCycle="One-Year commitment for monthly/yearly billing",
        EffectiveUnitPrice="7.10833E-05" if n == 0 else "5.1", UnitType="Licenses",
        BillableQuantity=str(n + 1), BillingFrequency="Monthly", PricingCurrency="USD",
        PCToBCExchangeRate="1", PCToBCExchangeRateDate="09/30/2026",
        SubscriptionStartDate="10/01/2026", SubscriptionEndDate="09/30/2027",
        ProductQualifiers='["Trial"]', ProductCategory="Microsoft 365",
    )  # fmt: skip
    row.update(values)
    return row


def usage_row(n: int) -> dict[str, str]:
    row = {name: "" for name in PORTAL_USAGE}
    row.update(
        PartnerId=TENANT, PartnerName="Fabrikam CSP", CustomerId=CUSTOMER,
        CustomerName="Contoso Ltd", CustomerDomainName="contoso.onmicrosoft.com",
        CustomerCountry="US", InvoiceNumber=INVOICE, ProductId="DZH318Z0BQ3Q",
        SkuId="0001", AvailabilityId="DZH318Z0BQ3Q", SkuName="Standard",
        ProductName="Storage", PublisherName="Microsoft", SubscriptionId=SUBSCRIPTION,
        ChargeStartDate="10/01/2026", ChargeEndDate="10/31/2026", UsageDate=f"10/{n + 1:02d}/2026",
        MeterType="1 GB/Month", MeterCategory="Storage", MeterId=METER,
        MeterName="LRS Data Stored", MeterRegion="US East", Unit="1 GB/Month",
        ResourceLocation="eastus", ConsumedService="Microsoft.Storage",
        ResourceGroup="Contoso-RG",
        ResourceURI=f"/subscriptions/{SUBSCRIPTION}/resourceGroups/contoso-rg/providers/{STORE}",
        ChargeType="new", UnitPrice="0.0208", Quantity="7.10833E-05", UnitType="1 GB/Month",
        BillingPreTaxTotal="1.478533E-06", BillingCurrency="USD",
        PricingPreTaxTotal="1.478533E-06", PricingCurrency="USD",
        Tags='{"env":"prod","owner":"ops@contoso.onmicrosoft.com"}',
        AdditionalInfo='{"ServiceType":"Storage","line":"a\nb"}',
        EffectiveUnitPrice="0.0208", PCToBCExchangeRate="1", PCToBCExchangeRateDate="10/01/2026",
        EntitlementId=SUBSCRIPTION, EntitlementDescription="Azure plan",
        PartnerEarnedCreditPercentage="0", CreditPercentage="0", BenefitType="",
    )  # fmt: skip
    return row


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], *, bom: bool) -> Path:
    """As the portal writes it: every cell quoted where needed, CRLF, optional BOM."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[name] for name in (h for h in header)])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode())
    return path


def recon_csv(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    # Microsoft's documented column list, in a casing of the portal's own kind.
    header = [n.lower() if i % 3 == 0 else n for i, n in enumerate(RECON)]
    rows = rows or [recon_row(n) for n in range(3)]
    keyed = [{h: row[name] for h, name in zip(header, RECON, strict=True)} for row in rows]
    return write_csv(path, header, keyed, bom=True)


def run_import(runtime: Runtime, *paths: Path, **options: Any) -> ImportReport:
    return import_blobs(runtime.db, ImportRequest(TENANT, list(paths), **options), runtime.clock())


def export(runtime: Runtime, dataset: Dataset, attribute_set: AttributeSet) -> list[bytes]:
    """The rows of an export through the Graph API."""
    headers = data.graph_headers(runtime, TENANT)
    with app_client(runtime) as client:
        body = {"invoiceId": INVOICE, "attributeSet": attribute_set.value}
        started = client.post(
            f"/v1.0/{BILLING}/{dataset.url_path}/export", json=body, headers=headers
        )
        assert started.status_code == 202, started.text
        assert Worker(runtime).run(once=True) >= 1
        op = client.get(started.headers["Location"], headers=headers).json()
        assert op["status"] == "succeeded", op
        return data.download_rows(client, op["resourceLocation"])


def served_invoice(runtime: Runtime) -> dict[str, Any]:
    headers = bearer(runtime, None, TENANT, "partner-center")
    with app_client(runtime, headers=headers) as client:
        response = client.get(f"/v1/invoices/{INVOICE}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def count(runtime: Runtime, table: sa.Table) -> int:
    with runtime.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_portal_reconciliation_csv_exports_again_through_graph(
    runtime: Runtime, tmp_path: Path
) -> None:
    report = run_import(runtime, recon_csv(tmp_path / "recon.csv"))
    assert report.rows == 3 and report.added == [f"billed-reconciliation of invoice {INVOICE}"]
    assert report.derived == [INVOICE]
    rows = export(runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL)
    assert len(rows) == 3
    first = rows[0]
    assert first.startswith(b'{"PartnerId":"' + TENANT.encode() + b'","CustomerId":')
    for piece in (
        b'"OrderDate":"2026-10-01T00:00:00Z"',
        b'"UnitPrice":6.00,"Quantity":1,"Subtotal":6.00,"TaxTotal":0.60,"Total":6.60',
        b'"EffectiveUnitPrice":0.0000710833',
        b'"PCToBCExchangeRate":1.000000,"PCToBCExchangeRateDate":"2026-09-30T00:00:00Z"',
        b'"PriceAdjustmentDescription":"[{\\"type\\":\\"Partner earned credit\\"',
        b'"ProductQualifiers":"[\\"Trial\\"]"',
        b'"MpnId":"","Tier2MpnId":""',
        b'"ReservationOrderId":""',
    ):
        assert piece in first, piece
    decoded = [json.loads(row, parse_float=Decimal) for row in rows]
    assert [list(row) for row in decoded] == [RECON] * 3
    assert decoded[1]["EffectiveUnitPrice"] == Decimal("5.1")
    assert decoded[0]["PriceAdjustmentDescription"] == ADJUSTMENT  # text stays text
    basic = export(runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    names = field_names(Dataset.BILLED_RECONCILIATION, AttributeSet.BASIC)
    assert [json.loads(row, parse_float=Decimal) for row in basic] == [
        {name: row[name] for name in names} for row in decoded
    ]
    assert Decimal(str(served_invoice(runtime)["totalCharges"])) == Decimal("6.6") + Decimal(
        "12.6"
    ) + Decimal("18.6")


def test_a_daily_rated_usage_csv_in_the_real_portal_header_order(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "usage.csv", PORTAL_USAGE, [usage_row(0), usage_row(1)], bom=False)
    report = run_import(runtime, path)
    assert report.added == [f"billed-usage of invoice {INVOICE}"]
    assert any("PCToBCExchangeRateDate ignored" in note for note in report.notes)
    rows = export(runtime, Dataset.BILLED_USAGE, AttributeSet.FULL)
    decoded = [json.loads(row, parse_float=Decimal) for row in rows]
    assert [list(row) for row in decoded] == [list(field_names(Dataset.BILLED_USAGE))] * 2
    assert b'"Quantity":0.0000710833' in rows[0]
    assert b'"BillingPreTaxTotal":0.000001478533' in rows[0]
    assert b'"UsageDate":"2026-10-02T00:00:00Z"' in rows[1]
    row = decoded[0]
    assert row["Tags"] == '{"env":"prod","owner":"ops@contoso.onmicrosoft.com"}'
    assert row["AdditionalInfo"] == '{"ServiceType":"Storage","line":"a\nb"}'
    assert row["BenefitID"] == "" and row["MpnId"] == ""
    assert row["ChargeStartDate"] == "2026-10-01T00:00:00Z"


def test_invoice_headers_from_v1_invoices_replace_derived_ones(
    runtime: Runtime, tmp_path: Path
) -> None:
    csv_path = recon_csv(tmp_path / "recon.csv")
    assert run_import(runtime, csv_path).derived == [INVOICE]
    amendment = {
        "id": "G000123457", "invoiceDate": "2026-11-12T00:00:00Z", "totalCharges": -4.5,
        "paidAmount": 0, "currencyCode": "USD", "currencySymbol": "$",
        "documentType": "adjustment_note", "amendsOf": INVOICE, "invoiceType": "OneTime",
    }  # fmt: skip
    invoice = {
        "id": INVOICE, "invoiceDate": "2026-11-08T10:22:47.5897767Z",
        "billingPeriodStartDate": "2026-10-01T00:00:00Z",
        "billingPeriodEndDate": "2026-10-31T00:00:00Z", "totalCharges": 37.80,
        "paidAmount": -10, "currencyCode": "USD", "currencySymbol": "$",
        "invoiceDetails": [{"invoiceLineItemType": "billing_line_items",
                            "billingProvider": "one_time"}],
        "amendments": [amendment], "documentType": "invoice", "invoiceType": "OneTime",
    }  # fmt: skip
    headers = tmp_path / "invoices.json"
    headers.write_text(json.dumps({"totalCount": 1, "items": [invoice]}))
    report = run_import(runtime, csv_path, headers)
    assert report.headers == [
        f"{INVOICE} replaced from invoices.json",
        "G000123457 added from invoices.json",
    ]
    assert not report.derived and report.unchanged  # the rows did not change
    served = served_invoice(runtime)
    assert served["invoiceDate"] == "2026-11-08T10:22:47.589776Z"
    assert str(served["totalCharges"]) == "37.8" and str(served["paidAmount"]) == "-10"
    assert [a["id"] for a in served["amendments"]] == ["G000123457"]
    again = run_import(runtime, csv_path, headers)
    assert again.headers == [
        f"{INVOICE} unchanged from invoices.json",
        "G000123457 unchanged from invoices.json",
    ]
    assert count(runtime, invoices) == 2


def test_a_bad_cell_names_file_line_and_column_and_loads_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    rows = [
        recon_row(0, SkuName="two\nlines"),  # a quoted cell over two lines: record 2, line 2
        recon_row(1),
        recon_row(2, ChargeStartDate="31/10/2026"),
    ]
    good = recon_csv(tmp_path / "good.csv")
    with pytest.raises(InvalidRequest) as caught:
        run_import(runtime, good, recon_csv(tmp_path / "bad.csv", rows))
    assert caught.value.message == (
        "bad.csv, line 5, column ChargeStartDate: not a date (MM/DD/YYYY or ISO 8601): '31/10/2026'"
    )
    assert count(runtime, line_items) == 0 and count(runtime, invoices) == 0


def test_reimport_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = recon_csv(tmp_path / "recon.csv")
    run_import(runtime, path)
    with runtime.db.connect() as conn:
        before = conn.execute(sa.select(line_items.c.id, line_items.c.doc_full)).all()
    report = run_import(runtime, path)
    assert report.unchanged and not report.added and not report.replaced and not report.derived
    with runtime.db.connect() as conn:
        assert conn.execute(sa.select(line_items.c.id, line_items.c.doc_full)).all() == before


def test_anonymise_replaces_who_and_keeps_totals(runtime: Runtime, tmp_path: Path) -> None:
    usage = write_csv(tmp_path / "usage.csv", PORTAL_USAGE, [usage_row(0)], bom=True)
    recon = recon_csv(tmp_path / "recon.csv")
    run_import(runtime, usage, recon, anonymise_key="fixture key")
    with runtime.db.connect() as conn:
        query = sa.select(line_items.c.doc_full, line_items.c.total).order_by(line_items.c.id)
        stored = conn.execute(query).all()
    blob = b"\n".join(bytes(doc) for doc, _ in stored).lower()
    for secret in (CUSTOMER, SUBSCRIPTION, TENANT, "contoso", "fabrikam"):
        assert secret.encode() not in blob, secret
    docs = [json.loads(doc) for doc, _ in stored]
    usage_doc, recon_doc = docs[0], docs[1]
    assert usage_doc["CustomerId"] == recon_doc["CustomerId"]  # one pseudonym per customer
    assert usage_doc["ResourceURI"].startswith(f"/subscriptions/{usage_doc['EntitlementId']}/")
    assert sum(Decimal(total) for _, total in stored[1:]) == Decimal("37.8")
    assert run_import(runtime, usage, recon, anonymise_key="fixture key").unchanged


def test_a_byte_that_is_not_utf8_is_placed_on_its_line(runtime: Runtime, tmp_path: Path) -> None:
    path = recon_csv(tmp_path / "recon.csv")
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace(b"Contoso", b"Contoso \xff")
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(InvalidRequest, match=r"^recon\.csv, line 3: not UTF-8"):
        run_import(runtime, path)
    assert count(runtime, line_items) == 0
