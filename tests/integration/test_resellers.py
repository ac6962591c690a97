"""A provider and two resellers, on every route and every dataset (SQLite and PostgreSQL).

The demo store's default partner is the provider. Reseller A owns two customers by id,
reseller B the customers of one ``Tier2MpnId``. Each must see exactly the provider's rows of
its customers, at its markup, recomputed with Microsoft's rounding rules, with invoices that
reconcile, and nothing of the other or of the provider's cost; the provider keeps its cost.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.rounding import expected_subtotal
from billport.jobs.worker import Worker
from billport.reconcile.check import reconcile
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import customers, line_items
from billport.usecases.imports import ImportRequest, import_blobs
from billport.usecases.resellers import preview
from tests.support.data import DEMO_TENANT, seed_demo
from tests.support.exports import render
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer

BILLING = "reports/partners/billing"
A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
PERCENT = {A: Decimal("10"), B: Decimal("25")}
COST_FIELDS = ("PartnerEarnedCreditPercentage", "CreditPercentage")
FULL = AttributeSet.FULL


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        seed_demo(runtime.db, settings)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as test_client:
        yield test_client


def admin(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.keys.admin_token}"}


def graph(runtime: Runtime, tenant: str) -> dict[str, str]:
    return bearer(runtime, None, tenant, "graph")


def pc(runtime: Runtime, tenant: str) -> dict[str, str]:
    return bearer(runtime, None, tenant, "partner-center")


def decoded(line: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(line, parse_float=Decimal, parse_int=Decimal)
    return parsed


def provider_rows(runtime: Runtime, dataset: Dataset, **where: Any) -> list[dict[str, Any]]:
    query = (
        sa.select(line_items.c.doc_full)
        .where(line_items.c.tenant_id == DEMO_TENANT, line_items.c.dataset == dataset.code,
               *[getattr(line_items.c, k) == v for k, v in where.items()])
        .order_by(line_items.c.id)
    )  # fmt: skip
    with runtime.db.connect() as conn:
        return [decoded(bytes(doc)) for (doc,) in conn.execute(query)]


def export(
    client: TestClient, runtime: Runtime, tenant: str, dataset: Dataset, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    version = "beta" if dataset.aggregated else "v1.0"
    headers = graph(runtime, tenant)
    started = client.post(f"/{version}/{BILLING}/{dataset.url_path}/export", json=body,
                          headers=headers)  # fmt: skip
    assert started.status_code == 202, started.text
    Worker(runtime).run(once=True)
    done = client.get(started.headers["Location"], headers=headers).json()
    assert done["status"] == "succeeded", done.get("error")
    manifest = done["resourceLocation"]
    assert manifest["partnerTenantId"] == tenant
    rows: list[dict[str, Any]] = []
    for blob in manifest["blobs"]:
        url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
        got = client.get(url)
        assert got.status_code == 200
        rows += [decoded(line) for line in gzip.decompress(got.content).splitlines()]
    return manifest, rows


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> dict[str, Any]:
    with runtime.db.connect() as conn:
        owned = conn.execute(
            sa.select(customers.c.customer_id, customers.c.tier2_mpn_id)
            .where(customers.c.tenant_id == DEMO_TENANT)
            .order_by(customers.c.customer_id)
        ).all()
    tier2 = next(t for _, t in owned if t)  # the demo has customers of indirect resellers
    by_id = [c for c, t in owned if not t][:2]
    of_b = {c for c, t in owned if t == tier2}
    a = {"name": "Reseller A", "mpnId": "5550001", "customers": by_id}
    put = client.put(f"/_billport/resellers/{A}", headers=admin(runtime), json=a)
    assert put.status_code == 200, put.text
    assert put.json()["created"] and put.json()["client"]["secret"]
    put = client.put(f"/_billport/resellers/{B}", headers=admin(runtime),
                     json={"name": "Reseller B", "mpnId": tier2, "client": False})  # fmt: skip
    assert put.status_code == 200, put.text
    rules = {"default": {"percent": "10"}, "rules": [{"reseller": B, "percent": "25"}]}
    put = client.put("/_billport/markup-rules", headers=admin(runtime), json=rules)
    assert put.status_code == 200, put.text
    return {A: set(by_id), B: of_b}


def invoices_of(client: TestClient, runtime: Runtime, tenant: str) -> dict[str, dict[str, Any]]:
    got = client.get("/v1/invoices", headers=pc(runtime, tenant))
    assert got.status_code == 200
    return {i["id"]: i for i in got.json()["items"]}


def check_view(
    reseller: str,
    mine: set[str],
    rows: list[dict[str, Any]],
    source: list[dict[str, Any]],
    dataset: Dataset,
) -> None:
    """``rows`` are ``source``'s rows of ``mine``, in order, at the reseller's price."""
    expected = [r for r in source if r["CustomerId"] in mine]
    assert len(rows) == len(expected) > 0
    factor = (100 + PERCENT[reseller]) / Decimal(100)
    for row, cost in zip(rows, expected, strict=True):
        assert row["PartnerId"] == reseller
        assert row["CustomerId"] == cost["CustomerId"]
        assert row["UnitPrice"] == cost["UnitPrice"] * factor
        if dataset.aggregated:
            continue
        assert row["EffectiveUnitPrice"] == cost["EffectiveUnitPrice"] * factor
        if dataset.usage:
            assert all(row[f] == 0 for f in COST_FIELDS)
            places = Decimal(1).scaleb(cost["BillingPreTaxTotal"].as_tuple().exponent)
            exact = row["EffectiveUnitPrice"] * row["Quantity"] * row["PCToBCExchangeRate"]
            assert abs(row["BillingPreTaxTotal"] - exact) <= places / 2
        else:
            assert row["PriceAdjustmentDescription"] == ""
            assert row["Subtotal"] == expected_subtotal(row)  # Microsoft's ROUNDDOWN rules
            assert row["Total"] == row["Subtotal"] + row["TaxTotal"]


def test_each_reseller_sees_its_rows_at_its_prices_on_every_route(
    client: TestClient, runtime: Runtime, world: dict[str, Any]
) -> None:
    provider_invoices = invoices_of(client, runtime, DEMO_TENANT)
    usage = provider_rows(runtime, Dataset.BILLED_USAGE)
    assert any(row["PartnerEarnedCreditPercentage"] for row in usage)  # the provider's cost
    for reseller, mine in world.items():
        other = next(o for o in world if o != reseller)
        recon = provider_rows(runtime, Dataset.BILLED_RECONCILIATION)
        with_rows = {r["InvoiceNumber"] for r in recon if r["CustomerId"] in mine}
        invoices = invoices_of(client, runtime, reseller)
        assert set(invoices) == with_rows and with_rows <= set(provider_invoices)
        checked_usage = False
        for invoice_id, invoice in invoices.items():
            _, rows = export(client, runtime, reseller, Dataset.BILLED_RECONCILIATION,
                             {"invoiceId": invoice_id})  # fmt: skip
            source = provider_rows(runtime, Dataset.BILLED_RECONCILIATION, invoice_id=invoice_id)
            check_view(reseller, mine, rows, source, Dataset.BILLED_RECONCILIATION)
            verdict = reconcile(invoice, rows)
            assert verdict.ok and not verdict.errors, verdict
            assert Decimal(str(invoice["totalCharges"])) == sum(r["Total"] for r in rows)
            assert Decimal(str(invoice["totalCharges"])) != Decimal(
                str(provider_invoices[invoice_id]["totalCharges"])
            )
            # v1 line items (the path form every invoice links to): the same rows
            items = client.get(
                f"/v1/invoices/{invoice_id}/lineitems/OneTime/BillingLineItems?size=2000",
                headers=pc(runtime, reseller),
            )
            assert items.status_code == 200, items.text
            assert {i["customerId"] for i in items.json()["items"]} <= mine
            assert items.json()["totalCount"] == len(rows)
            pdf = client.get(f"/v1/invoices/{invoice_id}/documents/statement",
                             headers=pc(runtime, reseller))  # fmt: skip
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            source = provider_rows(runtime, Dataset.BILLED_USAGE, invoice_id=invoice_id)
            if any(r["CustomerId"] in mine for r in source) and not checked_usage:
                checked_usage = True
                _, rows = export(client, runtime, reseller, Dataset.BILLED_USAGE,
                                 {"invoiceId": invoice_id})  # fmt: skip
                check_view(reseller, mine, rows, source, Dataset.BILLED_USAGE)
                body = {"invoiceId": invoice_id}
                aggregate = Dataset.BILLED_AGGREGATED_USAGE
                _, aggregated = export(client, runtime, reseller, aggregate, body)
                assert aggregated and {r["CustomerId"] for r in aggregated} <= mine
                assert all(r["PartnerId"] == reseller for r in aggregated)
                assert all(r["PartnerEarnedCreditPercentage"] == 0 for r in aggregated)
        assert checked_usage
        for dataset in (Dataset.UNBILLED_RECONCILIATION, Dataset.UNBILLED_USAGE):
            with runtime.db.connect() as conn:
                month, currency = conn.execute(
                    sa.select(line_items.c.billing_month, line_items.c.currency)
                    .where(line_items.c.tenant_id == reseller,
                           line_items.c.dataset == dataset.code)
                    .limit(1)
                ).one()  # fmt: skip
            period = "current" if month == 202611 else "last"  # the pinned clock: 2026-11-21
            body = {"billingPeriod": period, "currencyCode": currency}
            manifest, rows = export(client, runtime, reseller, dataset, body)
            source = provider_rows(runtime, dataset, billing_month=month, currency=currency)
            check_view(reseller, mine, rows, source, dataset)
        # nothing of the other reseller, nor of the provider
        for invoice_id in set(invoices_of(client, runtime, other)) - set(invoices):
            got = client.get(f"/v1/invoices/{invoice_id}", headers=pc(runtime, reseller))
            assert got.status_code == 404
        for invoice_id in set(provider_invoices) - set(invoices):
            got = client.get(f"/v1/invoices/{invoice_id}", headers=pc(runtime, reseller))
            assert got.status_code == 404


def test_operations_and_manifests_do_not_cross_resellers(
    client: TestClient, runtime: Runtime, world: dict[str, Any]
) -> None:
    invoice_id = sorted(set(invoices_of(client, runtime, A)))[0]
    manifest, _ = export(client, runtime, A, Dataset.BILLED_RECONCILIATION,
                         {"invoiceId": invoice_id})  # fmt: skip
    url = f"/v1.0/{BILLING}/manifests/{manifest['id']}"
    assert client.get(url, headers=graph(runtime, A)).status_code == 200
    assert client.get(url, headers=graph(runtime, B)).status_code == 404
    assert client.get(url, headers=graph(runtime, DEMO_TENANT)).status_code == 404
    blob = manifest["blobs"][0]["name"]
    theirs = manifest["rootDirectory"].replace(A, B)
    assert client.get(f"{theirs}/{blob}?{manifest['sasToken']}").status_code in (403, 404)


def test_a_rule_change_gives_new_manifests_and_old_ones_stay(
    client: TestClient, runtime: Runtime, world: dict[str, Any]
) -> None:
    invoice_id = sorted(set(invoices_of(client, runtime, A)))[0]
    body = {"invoiceId": invoice_id}
    before, rows = export(client, runtime, A, Dataset.BILLED_RECONCILIATION, body)
    again, _ = export(client, runtime, A, Dataset.BILLED_RECONCILIATION, body)
    assert again["eTag"] == before["eTag"]  # nothing changed: the manifest is reused
    rules = {"default": {"percent": "30"}}
    assert client.put("/_billport/markup-rules", headers=admin(runtime), json=rules).is_success
    after, repriced = export(client, runtime, A, Dataset.BILLED_RECONCILIATION, body)
    assert after["eTag"] != before["eTag"] and after["id"] != before["id"]
    assert [r["UnitPrice"] for r in repriced] == [
        r["UnitPrice"] / Decimal("1.1") * Decimal("1.3") for r in rows
    ]
    old = client.get(f"/v1.0/{BILLING}/manifests/{before['id']}", headers=graph(runtime, A))
    assert old.status_code == 200 and old.json()["eTag"] == before["eTag"]
    total = invoices_of(client, runtime, A)[invoice_id]["totalCharges"]
    assert Decimal(str(total)) == sum(r["Total"] for r in repriced)


def test_resellers_admin_api_checks_and_removal(
    client: TestClient, runtime: Runtime, world: dict[str, Any]
) -> None:
    listed = client.get("/_billport/resellers", headers=admin(runtime)).json()
    assert [r["tenantId"] for r in listed["value"]] == [A, B]
    claimed = next(iter(world[A]))
    third = "cccccccc-0000-4000-8000-00000000000c"
    clash = client.put(f"/_billport/resellers/{third}", headers=admin(runtime),
                       json={"name": "C", "customers": [claimed]})  # fmt: skip
    assert clash.status_code == 400 and "already belongs to reseller Reseller A" in clash.text
    bad = client.put("/_billport/markup-rules", headers=admin(runtime),
                     json={"rules": [{"price": "3"}]})  # fmt: skip
    assert bad.status_code == 400 and "needs the 'currency'" in bad.text
    assert client.get("/_billport/resellers", headers=pc(runtime, A)).status_code in (401, 403)
    gone = client.delete(f"/_billport/resellers/{A}", headers=admin(runtime))
    assert gone.status_code == 200
    assert client.get("/v1/invoices", headers=pc(runtime, A)).status_code == 403
    with runtime.db.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).where(line_items.c.tenant_id == A))
        assert left.scalar() == 0
    assert client.delete(f"/_billport/resellers/{A}", headers=admin(runtime)).status_code == 404


def test_an_import_of_the_providers_data_rebuilds_the_views(
    client: TestClient, runtime: Runtime, world: dict[str, Any], tmp_path: Path
) -> None:
    customer = sorted(world[A])[0]
    dataset = Dataset.BILLED_RECONCILIATION
    values = {"PartnerId": DEMO_TENANT, "CustomerId": customer, "InvoiceNumber": "G900000001",
              "ChargeType": "New", "UnitPrice": Decimal("10"), "EffectiveUnitPrice": Decimal("10"),
              "BillableQuantity": Decimal("3"), "Quantity": 3, "PCToBCExchangeRate": Decimal("1"),
              "Subtotal": Decimal("30.00"), "TaxTotal": Decimal("3.00"), "Total": Decimal("33.00"),
              "Currency": "USD", "PricingCurrency": "USD", "TermAndBillingCycle": "One-Year",
              "ChargeStartDate": "2026-10-01T00:00:00Z"}  # fmt: skip
    folder = tmp_path / "blobs"
    folder.mkdir()
    (folder / "part-00000.json.gz").write_bytes(
        gzip.compress(render(dataset, FULL, values) + b"\n")
    )
    report = import_blobs(runtime.db, ImportRequest(DEMO_TENANT, folder), runtime.clock())
    assert any(note.startswith(f"reseller {A}: view rebuilt") for note in report.notes)
    invoice = invoices_of(client, runtime, A)["G900000001"]
    assert Decimal(str(invoice["totalCharges"])) == Decimal("36.30")  # 10 % on 30.00, tax 10 %
    assert "G900000001" not in invoices_of(client, runtime, B)


def test_the_preview_puts_the_resellers_invoice_next_to_the_cost(
    client: TestClient, runtime: Runtime, world: dict[str, Any]
) -> None:
    invoice_id, invoice = sorted(invoices_of(client, runtime, B).items())[0]
    shown = preview(runtime.db, B, invoice_id)
    assert shown.price == shown.total_charges == Decimal(str(invoice["totalCharges"]))
    cost = sum(
        r["Total"]
        for r in provider_rows(runtime, Dataset.BILLED_RECONCILIATION, invoice_id=invoice_id)
        if r["CustomerId"] in world[B]
    )
    assert shown.cost == cost < shown.price  # 25 % on top
    assert {c.customer_id for c in shown.customers} <= world[B]
