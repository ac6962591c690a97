"""The Graph export flow end to end: POST -> poll -> manifest -> signed download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from billport.billing.datasets import STORED_DATASETS, AttributeSet, Dataset, field_names
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, opened

BILLING = "reports/partners/billing"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as test_client:
        yield test_client


def start(
    client: TestClient,
    runtime: Runtime,
    path: str,
    body: Any,
    version: str = "v1.0",
    tenant: str = data.TENANT,
) -> str:
    response = client.post(
        f"/{version}/{BILLING}/{path}", json=body, headers=data.graph_headers(runtime, tenant)
    )
    assert response.status_code == 202, response.text
    assert response.content == b""
    location = response.headers["Location"]
    assert location.startswith(f"http://testserver/{version}/{BILLING}/operations/")
    return location


def finish(
    client: TestClient, runtime: Runtime, location: str, tenant: str = data.TENANT
) -> dict[str, Any]:
    headers = data.graph_headers(runtime, tenant)
    waiting = client.get(location, headers=headers)
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "notStarted"
    assert waiting.json()["@odata.type"] == "#microsoft.graph.partners.billing.runningOperation"
    assert waiting.headers["Retry-After"] == str(runtime.settings.retry_after)
    assert Worker(runtime).run(once=True) >= 1
    done = client.get(location, headers=headers)
    assert done.status_code == 200
    assert "Retry-After" not in done.headers
    return done.json()


def body_for(dataset: Dataset, attribute_set: AttributeSet) -> dict[str, str]:
    if dataset.billed:
        return {"invoiceId": data.MODERN, "attributeSet": attribute_set.value}
    return {"billingPeriod": "current", "currencyCode": "usd", "attributeSet": attribute_set.value}


@pytest.mark.parametrize("action", ["export", "microsoft.graph.partners.billing.export"])
@pytest.mark.parametrize("version", ["v1.0", "beta"])
@pytest.mark.parametrize("attribute_set", list(AttributeSet))
@pytest.mark.parametrize("dataset", STORED_DATASETS)
def test_export_round_trip(
    client: TestClient,
    runtime: Runtime,
    dataset: Dataset,
    attribute_set: AttributeSet,
    version: str,
    action: str,
) -> None:
    location = start(
        client, runtime, f"{dataset.url_path}/{action}", body_for(dataset, attribute_set), version
    )
    op = finish(client, runtime, location)
    assert op["@odata.type"] == "#microsoft.graph.partners.billing.exportSuccessOperation"
    assert op["status"] == "succeeded"
    manifest = op["resourceLocation"]
    assert op["resourceLocation@odata.navigationLink"] == (
        f"http://testserver/{version}/{BILLING}/manifests/{manifest['id']}"
    )
    assert manifest["partnerTenantId"] == data.TENANT
    assert manifest["dataFormat"] == "compressedJSON"
    assert f"Fragment={attribute_set.value}/PartitionType=default" in manifest["rootDirectory"]
    assert manifest["blobCount"] == len(manifest["blobs"]) == 3  # 7 rows, 3 per part
    where: dict[str, Any] = {"tenant_id": data.TENANT}
    if dataset.billed:
        where["invoice_id"] = data.MODERN
    else:
        where.update(billing_month=202611, currency="USD")
    expected = data.stored_docs(runtime, dataset, attribute_set, **where)
    rows = data.download_rows(client, manifest)
    assert rows == expected  # byte for byte, in order, each exactly once
    names = field_names(dataset, attribute_set)
    assert all(list(orjson.loads(row)) == list(names) for row in rows)


def test_decimals_survive_exactly(client: TestClient, runtime: Runtime) -> None:
    location = start(client, runtime, "reconciliation/billed/export", {"invoiceId": data.MODERN})
    rows = data.download_rows(client, finish(client, runtime, location)["resourceLocation"])
    assert b'"UnitPrice":99999999999.999999' in rows[0]


def test_manifest_route_and_reuse(client: TestClient, runtime: Runtime) -> None:
    body = {"invoiceId": data.MODERN, "attributeSet": "basic"}
    first = finish(client, runtime, start(client, runtime, "usage/billed/export", body))
    again = finish(client, runtime, start(client, runtime, "usage/billed/export", body))
    assert again["id"] != first["id"]
    m1, m2 = first["resourceLocation"], again["resourceLocation"]
    assert (m2["id"], m2["eTag"], m2["rootDirectory"]) == (
        m1["id"],
        m1["eTag"],
        m1["rootDirectory"],
    )
    fetched = client.get(
        first["resourceLocation@odata.navigationLink"], headers=data.graph_headers(runtime)
    )
    assert fetched.status_code == 200
    assert fetched.json()["id"] == m1["id"]
    assert fetched.json()["@odata.context"].endswith("#reports/partners/billing/manifests/$entity")
    with runtime.db.begin() as conn:  # new data -> new manifest
        data.add_lines(conn, data.TENANT, Dataset.BILLED_USAGE, 1, invoice=data.MODERN)
    third = finish(client, runtime, start(client, runtime, "usage/billed/export", body))
    assert third["resourceLocation"]["id"] != m1["id"]
    assert third["resourceLocation"]["eTag"] != m1["eTag"]
    assert len(data.download_rows(client, third["resourceLocation"])) == 8


@pytest.mark.parametrize("invoice", [data.LEGACY, "G000000001", "G999999999"])
def test_legacy_unknown_and_foreign_invoices_fail_with_5000(
    client: TestClient, runtime: Runtime, invoice: str
) -> None:
    location = start(client, runtime, "reconciliation/billed/export", {"invoiceId": invoice})
    op = finish(client, runtime, location)
    assert op["@odata.type"] == "#microsoft.graph.partners.billing.failedOperation"
    assert op["status"] == "failed"
    assert op["error"]["code"] == "5000"
    assert invoice in op["error"]["message"]


def test_empty_unbilled_scope_fails_with_5000(client: TestClient, runtime: Runtime) -> None:
    location = start(
        client, runtime, "usage/unbilled/export", {"billingPeriod": "last", "currencyCode": "GBP"}
    )
    assert finish(client, runtime, location)["error"]["code"] == "5000"


def test_last_period_uses_the_previous_month(client: TestClient, runtime: Runtime) -> None:
    location = start(
        client, runtime, "usage/unbilled/export", {"billingPeriod": "last", "currencyCode": "EUR"}
    )
    manifest = finish(client, runtime, location)["resourceLocation"]
    assert "BillingMonth=202610/Currency=EUR" in manifest["rootDirectory"]
    assert len(data.download_rows(client, manifest)) == 3


@pytest.mark.parametrize(
    ("path", "raw", "fragment"),
    [
        ("reconciliation/billed/export", b"{", "not valid JSON"),
        ("reconciliation/billed/export", b"", "empty"),
        ("reconciliation/billed/export", b"{}", "invoiceId"),
        (
            "reconciliation/billed/export",
            b'{"invoiceId":"G1","attributeSet":"unknownFutureValue"}',
            "attributeSet",
        ),
        (
            "usage/unbilled/export",
            b'{"billingPeriod":"next","currencyCode":"USD"}',
            "billingPeriod",
        ),
        (
            "usage/unbilled/microsoft.graph.partners.billing.export",
            b'{"billingPeriod":"current"}',
            "currencyCode",
        ),
    ],
)
def test_bad_requests_get_the_graph_envelope(
    client: TestClient, runtime: Runtime, path: str, raw: bytes, fragment: str
) -> None:
    headers = {
        **data.graph_headers(runtime),
        "client-request-id": "abc-123",
        "Content-Type": "application/json",
    }
    response = client.post(f"/v1.0/{BILLING}/{path}", content=raw, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert fragment in error["message"]
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


def test_operations_and_manifests_of_other_tenants_are_not_found(
    client: TestClient, runtime: Runtime
) -> None:
    location = start(client, runtime, "reconciliation/billed/export", {"invoiceId": data.MODERN})
    op = finish(client, runtime, location)
    other = data.graph_headers(runtime, data.OTHER_TENANT)
    assert client.get(location, headers=other).status_code == 404
    nav = op["resourceLocation@odata.navigationLink"]
    response = client.get(nav, headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "itemNotFound"
    unknown = location.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert client.get(unknown, headers=data.graph_headers(runtime)).status_code == 404


def test_blob_access_rules(client: TestClient, runtime: Runtime) -> None:
    location = start(client, runtime, "reconciliation/billed/export", {"invoiceId": data.MODERN})
    manifest = finish(client, runtime, location)["resourceLocation"]
    url = f"{manifest['rootDirectory']}/{manifest['blobs'][0]['name']}"
    token = manifest["sasToken"]
    whole = client.get(f"{url}?{token}")
    assert whole.status_code == 200
    assert whole.headers["x-ms-blob-type"] == "BlockBlob"
    assert whole.headers["content-length"] == str(len(whole.content))
    head = client.head(f"{url}?{token}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(whole.content))
    assert head.headers["etag"] == whole.headers["etag"]
    part = client.get(f"{url}?{token}", headers={"x-ms-range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == whole.content[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{len(whole.content)}"
    tail = client.get(f"{url}?{token}", headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == whole.content[-4:]
    beyond = client.get(f"{url}?{token}", headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416
    # no token, tampered token, token of another directory
    assert client.get(url).status_code == 403
    tampered = token.replace("sp=rl", "sp=rwl")
    denied = client.get(f"{url}?{tampered}")
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/xml")
    assert b"<Code>AuthenticationFailed</Code>" in denied.content
    other_dir = url.replace(
        f"PartnerTenantId={data.TENANT}", f"PartnerTenantId={data.OTHER_TENANT}"
    )
    assert client.get(f"{other_dir}?{token}").status_code == 403
    # expiry: one hour later the same token is refused; a fresh read mints a new one
    later = runtime.clock() + timedelta(seconds=runtime.settings.sas_lifetime + 1)
    runtime.clock = lambda: later
    expired = client.get(f"{url}?{token}")
    assert expired.status_code == 403 and b"expired" in expired.content
    fresh = client.get(location, headers=data.graph_headers(runtime))
    assert fresh.json()["resourceLocation"]["sasToken"] != token
    assert client.get(f"{url}?{fresh.json()['resourceLocation']['sasToken']}").status_code == 200
