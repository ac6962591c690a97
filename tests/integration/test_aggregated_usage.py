"""The beta billed aggregated usage export end to end, on SQLite and PostgreSQL.

POST (beta only, ``invoiceId`` alone) -> operation -> manifest -> signed gzip blobs whose rows
are the invoice's billed usage rows aggregated: checked against the billed usage export of
the same invoice, aggregated independently (tests/support/aggregated.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.billing.datasets import Dataset, field_names
from billport.billing.operations import Status
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import export_plans
from billport.usecases import operations
from tests.support import aggregated as agg
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.sandbox import put_scenario

BILLING = "reports/partners/billing"
EXPORT = f"/beta/{BILLING}/aggregatedUsage/billed/export"
AGGREGATED = Dataset.BILLED_AGGREGATED_USAGE


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=10) as runtime:
        data.build_dataset(runtime)
        agg.add_usage_invoice(runtime)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as test_client:
        yield test_client


def export(client: TestClient, runtime: Runtime, path: str, body: Any) -> dict[str, Any]:
    """POST, run the worker, read the finished operation."""
    headers = data.graph_headers(runtime)
    started = client.post(path, json=body, headers=headers)
    assert started.status_code == 202, started.text
    assert started.content == b""
    location = started.headers["Location"]
    version = path.split("/")[1]
    assert location.startswith(f"http://testserver/{version}/{BILLING}/operations/")
    assert Worker(runtime).run(once=True) >= 1
    done = client.get(location, headers=headers)
    assert done.status_code == 200
    return done.json()  # type: ignore[no-any-return]


def parsed(lines: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in lines]


@pytest.mark.parametrize("action", ["export", "microsoft.graph.partners.billing.export"])
def test_rows_aggregate_the_billed_usage_export_of_the_invoice(
    client: TestClient, runtime: Runtime, action: str
) -> None:
    path = EXPORT.removesuffix("export") + action
    op = export(client, runtime, path, {"invoiceId": agg.INVOICE})
    assert op["@odata.type"] == "#microsoft.graph.partners.billing.exportSuccessOperation"
    manifest = op["resourceLocation"]
    assert "/billedaggregatedusagefastpath/v1/" in manifest["rootDirectory"]
    assert f"/InvoiceId={agg.INVOICE}/" in manifest["rootDirectory"]
    assert manifest["rootDirectory"].endswith("/PartitionType=default")  # no Fragment level
    lines = data.download_rows(client, manifest)
    assert manifest["blobCount"] == len(manifest["blobs"]) == 3  # 25 rows, 10 per blob
    names = list(field_names(Dataset.BILLED_AGGREGATED_USAGE))
    assert all(list(json.loads(line)) == names for line in lines)

    usage_op = export(client, runtime, f"/v1.0/{BILLING}/usage/billed/export",
                      {"invoiceId": agg.INVOICE})  # fmt: skip
    usage = parsed(data.download_rows(client, usage_op["resourceLocation"]))
    assert len(usage) == 60
    want = agg.expected_rows(usage)
    got = parsed(lines)
    assert len(got) == len(want) == 25
    for row, expected in zip(got, want, strict=True):
        for key, value in expected.items():
            if key != "rows":
                assert row[key] == value, key
    # the totals reconcile with the billed usage export, exactly
    for name in agg.SUMS:
        assert sum(r[name] for r in got) == sum(r[name] for r in usage)
    big = [r for r in got if r["MeterId"] == "meter-3" and r["CustomerId"] == "cust-0"]
    assert {r["BillingPreTaxTotal"] for r in big} == {Decimal("199999999999.999998")}
    assert b'"BillingPreTaxTotal":199999999999.999998' in b"".join(lines)


def test_prices_and_benefits(client: TestClient, runtime: Runtime) -> None:
    op = export(client, runtime, EXPORT, {"invoiceId": agg.INVOICE})
    lines = data.download_rows(client, op["resourceLocation"])
    rows = parsed(lines)
    by_customer_meter: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_customer_meter.setdefault((row["CustomerId"], row["MeterId"]), []).append(row)
    pec = by_customer_meter[("cust-1", "meter-0")][0]
    assert (pec["UnitPrice"], pec["PartnerPrice"]) == (Decimal("0.104000"), Decimal("0.088400"))
    assert pec["EffectiveUnitPrice"] == pec["PartnerPrice"] and pec["PriceBenefits"] == "[]"
    credited = by_customer_meter[("cust-2", "meter-1")][0]
    assert credited["PartnerPrice"] == Decimal("2.500000")
    assert credited["EffectiveUnitPrice"] == Decimal("0")
    assert b'"EffectiveUnitPrice":0.000000,' in lines[rows.index(credited)]  # price's scale
    plan = by_customer_meter[("cust-0", "meter-2")][0]
    assert plan["PriceBenefits"] == '["sp-0001"]'
    # a resource billed at another price than its siblings stays a row of its own
    split = by_customer_meter[("cust-1", "meter-1")]
    assert sorted(r["PartnerPrice"] for r in split if r["EntitlementId"] == "sub-1-0") == [
        Decimal("2.125000"),
        Decimal("2.500000"),
    ]


def test_unchanged_usage_reuses_the_manifest_and_new_usage_does_not(
    client: TestClient, runtime: Runtime
) -> None:
    first = export(client, runtime, EXPORT, {"invoiceId": agg.INVOICE})["resourceLocation"]
    before = parsed(data.download_rows(client, first))
    again = export(client, runtime, EXPORT, {"invoiceId": agg.INVOICE})["resourceLocation"]
    assert (again["id"], again["eTag"]) == (first["id"], first["eTag"])
    with runtime.db.begin() as conn:
        data.add_rows(conn, data.TENANT, Dataset.BILLED_USAGE, [agg.usage_values(0)],
                      invoice=agg.INVOICE)  # fmt: skip
    third = export(client, runtime, EXPORT, {"invoiceId": agg.INVOICE})["resourceLocation"]
    assert third["id"] != first["id"] and third["eTag"] != first["eTag"]
    rows = parsed(data.download_rows(client, third))
    assert len(rows) == 25  # the new row joined its group
    assert rows[0]["Quantity"] == before[0]["Quantity"] + agg.usage_values(0)["Quantity"]
    assert rows[1:] == before[1:]


BAD_BODIES = [
    (b'{"invoiceId":"G016907433","attributeSet":"full"}', "attributeSet"),
    (b'{"invoiceId":"G016907433","attributeSet":"basic"}', "attributeSet"),
    (b"{}", "invoiceId"),
    (b'{"invoiceId":""}', "invoiceId"),
    (b'{"invoiceId":7}', "invoiceId"),
    (b'{"invoiceId":null}', "invoiceId"),
    (b'{"invoiceId":"G0123456789012345678901"}', "invoiceId"),
    (b'{"billingPeriod":"current","currencyCode":"USD"}', "billingPeriod"),
    (b"[]", "JSON object"),
    (b"{", "not valid JSON"),
    (b"", "empty"),
]


def test_bad_bodies_get_the_graph_envelope(client: TestClient, runtime: Runtime) -> None:
    headers = {**data.graph_headers(runtime), "client-request-id": "agg-1"}
    for raw, fragment in BAD_BODIES:
        response = client.post(EXPORT, content=raw, headers=headers)
        assert response.status_code == 400, raw
        error = response.json()["error"]
        assert error["code"] == "BadRequest"
        assert fragment in error["message"], (raw, error["message"])
        assert error["innerError"]["client-request-id"] == "agg-1"
    assert Worker(runtime).run(once=True) == 0  # nothing was queued


def test_v1_has_no_aggregated_usage(client: TestClient, runtime: Runtime) -> None:
    for action in ("export", "microsoft.graph.partners.billing.export"):
        path = f"/v1.0/{BILLING}/aggregatedUsage/billed/{action}"
        response = client.post(path, json={"invoiceId": agg.INVOICE},
                               headers=data.graph_headers(runtime))  # fmt: skip
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "BadRequest"
        assert error["message"] == "Resource not found for the segment 'aggregatedUsage'."
        assert client.post(path, json={"invoiceId": agg.INVOICE}).status_code == 401


FAILING = [
    ("G000000001", "No data available for invoice G000000001"),  # unknown
    ("G999999999", "No data available for invoice G999999999"),  # another tenant's
    (data.LEGACY, "legacy invoices"),
    ("G016907499", "No data available for the requested parameters"),  # no usage rows
]


def test_invoices_without_usage_fail_with_5000(client: TestClient, runtime: Runtime) -> None:
    agg.add_empty_invoice(runtime, "G016907499")
    for invoice, message in FAILING:
        op = export(client, runtime, EXPORT, {"invoiceId": invoice})
        assert op["@odata.type"] == "#microsoft.graph.partners.billing.failedOperation"
        assert op["error"]["code"] == "5000"
        assert message in op["error"]["message"]


def test_sandbox_scenarios_apply(client: TestClient, runtime: Runtime) -> None:
    put_scenario(client, runtime, {
        "progression": "polls:2",
        "failures": [{"dataset": "billedAggregatedUsage", "invoice": "G0169074*",
                      "code": "6001", "message": "aggregation unavailable"}],
    })  # fmt: skip
    headers = data.graph_headers(runtime)
    started = client.post(EXPORT, json={"invoiceId": agg.INVOICE}, headers=headers)
    assert started.status_code == 202
    assert Worker(runtime).run(once=True) >= 1
    location = started.headers["Location"]
    assert client.get(location, headers=headers).json()["status"] == "running"
    op = client.get(location, headers=headers).json()
    assert op["status"] == "failed"
    assert op["error"] == {"code": "6001", "message": "aggregation unavailable"}
    # the rule names the aggregated dataset only: billed usage of the invoice still works
    put_scenario(client, runtime, {"failures": [{"dataset": "billedAggregatedUsage"}]})
    usage = export(client, runtime, f"/beta/{BILLING}/usage/billed/export",
                   {"invoiceId": agg.INVOICE})  # fmt: skip
    assert usage["status"] == "succeeded"


@pytest.mark.slow
def test_a_large_source_is_written_whole_by_its_worker(settings: Settings) -> None:
    """More source rows than a partition holds, and export processes: still one job, in the
    worker's process (aggregated rows have no ids to cut into partitions or blob tasks)."""
    changes = dict(now="", blob_rows=10, partition_rows=20, export_processes=2)
    with opened(settings, **changes) as runtime:
        data.build_dataset(runtime)
        agg.add_usage_invoice(runtime)
        body = {"invoiceId": agg.INVOICE}
        op = operations.request_export(runtime.db, runtime.clock, data.TENANT, AGGREGATED, body)
        assert Worker(runtime).run(once=True) == 1
        view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
        assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
        assert view.manifest is not None and view.manifest.row_count == 25
        assert [b.rows for b in view.manifest.blobs] == [10, 10, 5]
        with runtime.db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(export_plans)).scalar() == 0
