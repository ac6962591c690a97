"""Small, fully controlled export fixtures: partners, invoices and line items of every dataset.

Documents are rendered here independently of the seeder, so export tests check the export
path against data whose every byte the test knows.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson

from billport.auth.issuer import GRAPH_AUDIENCE, issue_token
from billport.billing.datasets import AttributeSet, Dataset, fields
from billport.runtime import Runtime
from billport.store.clients import insert_client
from billport.store.tables import invoices, line_items, partners
from billport.usecases import operations

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
OTHER_TENANT = "6e75cca6-0000-4000-8000-000000000002"
MODERN = "G016907411"
LEGACY = "D02005YFHI"
WHEN = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def render(dataset: Dataset, attribute_set: AttributeSet, values: dict[str, Any]) -> bytes:
    out: dict[str, Any] = {}
    for f in fields(dataset, attribute_set):
        value = values.get(f.name)
        if f.type == "decimal":
            out[f.name] = orjson.Fragment(str(value if value is not None else Decimal("0")))
        elif f.type == "int":
            out[f.name] = int(value or 0)
        elif f.type == "datetime":
            out[f.name] = value or "2026-10-01T00:00:00Z"
        else:
            out[f.name] = "" if value is None else str(value)
    return orjson.dumps(out)


def line_values(
    dataset: Dataset, tenant: str, n: int, currency: str, invoice: str
) -> dict[str, Any]:
    total = Decimal(n) + Decimal("0.123456")
    return {
        "PartnerId": tenant,
        "PartnerName": "Contoso CSP",
        "CustomerId": f"cust-{n % 3}",
        "CustomerName": f'Fabrikam {n % 3} \u00e9"quoted"',
        "InvoiceNumber": invoice,
        "ChargeType": "New",
        "Total": total,
        "Subtotal": total,
        "TaxTotal": Decimal("0"),
        "BillingPreTaxTotal": total,
        "UnitPrice": Decimal("99999999999.999999"),
        "Quantity": n if not dataset.usage else Decimal("1.5"),
        "Currency": currency,
        "BillingCurrency": currency,
        "SkuName": f"sku-{n}",
        "UsageDate": "2026-10-05T00:00:00Z",
    }


def add_partner(conn: Any, tenant: str, default: bool) -> None:
    conn.execute(
        partners.insert().values(
            tenant_id=tenant,
            name=f"Partner {tenant[:4]}",
            mpn_id="1234567",
            domain_name="p.example",
            country="US",
            is_default=default,
            created_at=WHEN,
        )
    )
    insert_client(conn, tenant_id=tenant, display_name="test app", created_at=WHEN)


def add_invoice(conn: Any, tenant: str, invoice_id: str, commerce: str) -> None:
    conn.execute(
        invoices.insert().values(
            tenant_id=tenant,
            invoice_id=invoice_id,
            invoice_date=datetime(2026, 11, 8, tzinfo=UTC),
            billing_period_start=datetime(2026, 10, 1, tzinfo=UTC),
            billing_period_end=datetime(2026, 10, 31, tzinfo=UTC),
            total_charges=Decimal("0"),
            paid_amount=Decimal("0"),
            currency_code="USD",
            currency_symbol="$",
            document_type="invoice",
            invoice_type="OneTime" if commerce == "modern" else "Recurring",
            commerce=commerce,
            amends_of=None,
            details="[]",
            tax_receipts="[]",
        )
    )


def add_lines(
    conn: Any,
    tenant: str,
    dataset: Dataset,
    count: int,
    *,
    invoice: str | None = None,
    month: int = 202610,
    currency: str = "USD",
) -> None:
    values = [line_values(dataset, tenant, n, currency, invoice or "") for n in range(count)]
    add_rows(conn, tenant, dataset, values, invoice=invoice, month=month, currency=currency)


def add_rows(
    conn: Any,
    tenant: str,
    dataset: Dataset,
    values: list[dict[str, Any]],
    *,
    invoice: str | None = None,
    month: int = 202610,
    currency: str = "USD",
) -> None:
    """One line item per ``values`` (field name -> value; missing fields get defaults)."""
    rows = [
        dict(
            tenant_id=tenant,
            dataset=dataset.code,
            invoice_id=invoice,
            billing_month=month,
            currency=currency,
            customer_id=v.get("CustomerId", ""),
            charge_type=v.get("ChargeType", "New"),
            total=v.get("Total", v.get("BillingPreTaxTotal", Decimal(0))),
            rev=0,
            doc_full=render(dataset, AttributeSet.FULL, v),
            doc_basic=render(dataset, AttributeSet.BASIC, v),
        )
        for v in values
    ]
    if rows:
        conn.execute(line_items.insert(), rows)


def build_dataset(runtime: Runtime, rows: int = 7) -> None:
    """Two tenants; every dataset has ``rows`` line items for TENANT (current month 202611)."""
    with runtime.db.begin() as conn:
        add_partner(conn, TENANT, True)
        add_partner(conn, OTHER_TENANT, False)
        add_invoice(conn, TENANT, MODERN, "modern")
        add_invoice(conn, TENANT, LEGACY, "legacy")
        add_invoice(conn, OTHER_TENANT, "G999999999", "modern")
        for dataset in (Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE):
            add_lines(conn, TENANT, dataset, rows, invoice=MODERN)
            add_lines(conn, OTHER_TENANT, dataset, 2, invoice="G999999999")
        for dataset in (Dataset.UNBILLED_RECONCILIATION, Dataset.UNBILLED_USAGE):
            add_lines(conn, TENANT, dataset, rows, month=202611, currency="USD")
            add_lines(conn, TENANT, dataset, 3, month=202610, currency="EUR")


def graph_headers(runtime: Runtime, tenant: str = TENANT, **claims: Any) -> dict[str, str]:
    token = issue_token(
        runtime.keys,
        runtime.settings,
        tenant_id=tenant,
        client_id="test-client",
        audience=GRAPH_AUDIENCE,
        extra_claims=claims or None,
    )
    return {"Authorization": f"Bearer {token}"}


def stored_docs(
    runtime: Runtime, dataset: Dataset, attribute_set: AttributeSet, **where: Any
) -> list[bytes]:
    column = line_items.c.doc_full if attribute_set is AttributeSet.FULL else line_items.c.doc_basic
    query = (
        line_items.select()
        .with_only_columns(column)
        .where(
            line_items.c.dataset == dataset.code,
            *[getattr(line_items.c, k) == v for k, v in where.items()],
        )
        .order_by(line_items.c.id)
    )
    with runtime.db.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def download_rows(client: httpx.Client | Any, manifest: dict[str, Any]) -> list[bytes]:
    """Every blob of a manifest through its signed URL, as the JSON lines they contain."""
    lines: list[bytes] = []
    for blob in manifest["blobs"]:
        url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
        response = client.get(url)
        assert response.status_code == 200, response.text
        data = gzip.decompress(response.content)
        assert data.endswith(b"\n")
        lines += data.split(b"\n")[:-1]
    return lines


def queue_export(runtime: Runtime, **body: Any) -> str:
    """Queue a billed reconciliation export of TENANT's MODERN invoice; its operation id."""
    op = operations.request_export(
        runtime.db,
        runtime.clock,
        TENANT,
        Dataset.BILLED_RECONCILIATION,
        {"invoiceId": MODERN, **body},
    )
    return op.operation_id
