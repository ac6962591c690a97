"""Every surface answers errors in its own envelope, with the injected clock's time — also
when the database or blob storage cannot be reached (503 + Retry-After, never a stack).

One table of cases pins the shapes: Graph, Partner Center, blob XML, OAuth2 (the issuer's
token and discovery endpoints) and the admin API.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.auth.issuer import PARTNER_CENTER_AUDIENCE, issue_token
from billport.errors import StorageUnavailable
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.clients import insert_client, rotate_secret
from billport.store.db import Database
from tests.support import exports as data
from tests.support.sandbox import admin_headers, sandbox_app

NOW_GRAPH = "2026-11-21T12:00:00"  # conftest pins the clock at 2026-11-21T12:00:00Z
NOW_OAUTH2 = "2026-11-21 12:00:00Z"
NOW_BLOB = "2026-11-21T12:00:00+00:00"
OPERATIONS = "/v1.0/reports/partners/billing/operations"


def graph_shape(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    inner = error["innerError"]
    assert inner["date"] == NOW_GRAPH
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"]
    return str(error["code"])


def partner_center_shape(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"code", "description", "data", "source"}
    assert isinstance(body["code"], int)
    assert body["data"] == [] and body["source"] == "PartnerFD"
    assert isinstance(body["description"], str) and body["description"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["ms-requestid"]
    return str(body["code"])


def blob_shape(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    code = root.findtext("Code")
    message = root.findtext("Message") or ""
    assert code and code == response.headers["x-ms-error-code"]
    assert f"RequestId:{response.headers['x-ms-request-id']}" in message
    assert f"Time:{NOW_BLOB}" in message
    return code


def oauth2_shape(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }
    assert body["timestamp"] == NOW_OAUTH2
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert f"Timestamp: {NOW_OAUTH2}" in body["error_description"]
    assert all(isinstance(c, int) for c in body["error_codes"])
    assert response.headers["cache-control"] == "no-store"
    return str(body["error"])


Shape = Callable[[httpx.Response], str]
Request = Callable[[TestClient, Runtime], httpx.Response]


@dataclass(frozen=True)
class Case:
    id: str
    send: Request
    status: int
    shape: Shape
    code: str


def pc_headers(runtime: Runtime) -> dict[str, str]:
    token = issue_token(
        runtime.keys,
        runtime.settings,
        tenant_id=data.TENANT,
        client_id="test-client",
        audience=PARTNER_CENTER_AUDIENCE,
    )
    return {"Authorization": f"Bearer {token}"}


def blob_url(runtime: Runtime, name: str = "part-00000.json.gz") -> str:
    where = runtime.blobs.download_location(
        "billedreconfastpath/v1/x", base_url="http://testserver", now=runtime.clock(), lifetime=60
    )
    return f"{where.root_directory}/{name}?{where.sas_token}"


def token_form(runtime: Runtime, **changes: str) -> dict[str, str]:
    with runtime.db.begin() as conn:  # the store keeps hashes: give the client a known secret
        row = conn.execute(sa.text("SELECT client_id FROM clients LIMIT 1")).first()
        rotated = rotate_secret(conn, row.client_id) if row is not None else None
    client_id, secret = (rotated.client_id, str(rotated.secret)) if rotated else ("none", "none")
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default",
    }
    return {**form, **changes}


REFUSED = [
    Case(
        "graph-401",
        lambda c, r: c.get(f"{OPERATIONS}/x"),
        401,
        graph_shape,
        "InvalidAuthenticationToken",
    ),
    Case(
        "graph-404",
        lambda c, r: c.get(f"{OPERATIONS}/x", headers=data.graph_headers(r)),
        404,
        graph_shape,
        "itemNotFound",
    ),
    Case(
        "graph-400",
        lambda c, r: c.post(
            "/v1.0/reports/partners/billing/reconciliation/billed/export",
            json={"invoiceId": ""},
            headers=data.graph_headers(r),
        ),
        400,
        graph_shape,
        "BadRequest",
    ),
    Case("pc-401", lambda c, r: c.get("/v1/invoices"), 401, partner_center_shape, "800001"),
    Case(
        "pc-404",
        lambda c, r: c.get("/v1/invoices/NOPE", headers=pc_headers(r)),
        404,
        partner_center_shape,
        "1000",
    ),
    Case(
        "pc-400",
        lambda c, r: c.get("/v1/invoices?size=abc", headers=pc_headers(r)),
        400,
        partner_center_shape,
        "800002",
    ),
    Case(
        "blob-403",
        lambda c, r: c.get("/blobs/billedreconfastpath/v1/x/part.json.gz?sig=bad"),
        403,
        blob_shape,
        "AuthenticationFailed",
    ),
    Case("blob-404", lambda c, r: c.get(blob_url(r)), 404, blob_shape, "BlobNotFound"),
    Case(
        "oauth2-grant",
        lambda c, r: c.post(
            f"/{data.TENANT}/oauth2/v2.0/token", data=token_form(r, grant_type="password")
        ),
        400,
        oauth2_shape,
        "unsupported_grant_type",
    ),
    Case(
        "oauth2-secret",
        lambda c, r: c.post(
            f"/{data.TENANT}/oauth2/v2.0/token", data=token_form(r, client_secret="wrong")
        ),
        401,
        oauth2_shape,
        "invalid_client",
    ),
    Case(
        "oauth2-discovery",
        lambda c, r: c.get("/no-such-tenant/v2.0/.well-known/openid-configuration"),
        400,
        oauth2_shape,
        "invalid_tenant",
    ),
    Case(
        "admin-401",
        lambda c, r: c.get("/_billport/scenario"),
        401,
        graph_shape,
        "InvalidAuthenticationToken",
    ),
    Case(
        "admin-400",
        lambda c, r: c.put(
            "/_billport/scenario", json={"retryAfter": -1}, headers=admin_headers(r)
        ),
        400,
        graph_shape,
        "BadRequest",
    ),
]


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[TestClient, Runtime]]:
    with sandbox_app(settings) as (client, runtime, _):
        with runtime.db.begin() as conn:  # a client for the token endpoint's cases
            insert_client(
                conn, tenant_id=data.TENANT, display_name="errors", created_at=runtime.clock()
            )
        yield client, runtime


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_errors_come_in_their_surface_envelope(app: tuple[TestClient, Runtime], case: Case) -> None:
    client, runtime = app
    response = case.send(client, runtime)
    assert response.status_code == case.status, response.text
    assert case.shape(response) == case.code


UNAVAILABLE = [
    Case(
        "graph",
        lambda c, r: c.get(f"{OPERATIONS}/x", headers=data.graph_headers(r)),
        503,
        graph_shape,
        "serviceNotAvailable",
    ),
    Case(
        "pc",
        lambda c, r: c.get("/v1/invoices", headers=pc_headers(r)),
        503,
        partner_center_shape,
        "800003",
    ),
    Case(
        "oauth2",
        lambda c, r: c.post(
            f"/{data.TENANT}/oauth2/v2.0/token",
            data=token_form(r),
        ),
        503,
        oauth2_shape,
        "temporarily_unavailable",
    ),
    Case(
        "admin",
        lambda c, r: c.get("/_billport/scenario", headers=admin_headers(r)),
        503,
        graph_shape,
        "serviceNotAvailable",
    ),
    Case("health", lambda c, r: c.get("/healthz"), 503, graph_shape, "serviceNotAvailable"),
]


def unreachable(settings: Settings) -> Database:
    """A database that refuses every connection, of the same kind as the test's."""
    if settings.effective_database_url.startswith("postgresql"):
        url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
        return Database(sa.create_engine(url, connect_args={"connect_timeout": 2}))
    return Database(sa.create_engine(f"sqlite:///{settings.data_dir}/missing/dir/x.db"))


@pytest.mark.parametrize("case", UNAVAILABLE, ids=[c.id for c in UNAVAILABLE])
def test_an_unreachable_database_is_a_503_in_the_surface_envelope(
    app: tuple[TestClient, Runtime], settings: Settings, case: Case, caplog: Any
) -> None:
    client, runtime = app
    prepared = {"form": token_form(runtime)}  # read while the database still answers
    working, runtime.db = runtime.db, unreachable(settings)
    try:
        if case.id == "oauth2":
            response = client.post(f"/{data.TENANT}/oauth2/v2.0/token", data=prepared["form"])
        else:
            response = case.send(client, runtime)
    finally:
        runtime.db.dispose()
        runtime.db = working
    assert response.status_code == 503, response.text
    assert case.shape(response) == case.code
    assert response.headers["retry-after"] == str(max(runtime.settings.retry_after, 1))
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    assert any("unavailable" in r.getMessage() for r in caplog.records)  # logged, with cause


def test_unreachable_blob_storage_is_a_503_in_azure_xml(
    app: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = app

    def down(_path: str) -> None:
        raise StorageUnavailable("Blob storage is unavailable; retry later.")

    monkeypatch.setattr(runtime.blobs, "info", down)
    response = client.get(blob_url(runtime))
    assert response.status_code == 503
    assert blob_shape(response) == "ServerBusy"
    assert response.headers["retry-after"] == str(max(runtime.settings.retry_after, 1))
