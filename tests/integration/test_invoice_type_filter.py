"""``GET /v1/invoices?invoiceType=`` (issue 13 item 7): honoured, never silently ignored.

The generated REST reference lists ``invoiceType`` as a query parameter without values;
the samples spell the types ``Recurring`` and ``OneTime`` (the docs table ``one_time``).
Runs on SQLite and PostgreSQL: the type is a SQL condition, on the legacy page and on the
modern invoices alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices
from tests.integration.test_error_shapes import pc_headers
from tests.support import exports as data
from tests.support.factory import app_client, opened

LEGACY_ONETIME = ("D0000000OT", "D0000001OT")


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, Runtime]]:
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=1)
        with runtime.db.begin() as conn:
            for invoice_id in LEGACY_ONETIME:
                data.add_invoice(conn, data.TENANT, invoice_id, "legacy")
            conn.execute(
                sa.update(invoices)
                .where(invoices.c.invoice_id.in_(LEGACY_ONETIME))
                .values(invoice_type="OneTime")
            )
        with app_client(runtime) as client:
            yield client, runtime


def listed(client: TestClient, runtime: Runtime, query: str) -> dict[str, object]:
    response = client.get(f"/v1/invoices{query}", headers=pc_headers(runtime))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(body: dict[str, object]) -> set[str]:
    return {item["id"] for item in body["items"]}  # type: ignore[attr-defined, index]


def test_invoice_type_keeps_only_that_type(client: tuple[TestClient, Runtime]) -> None:
    every = ids(listed(*client, ""))
    assert every == {data.MODERN, data.LEGACY, *LEGACY_ONETIME}
    for spelling in ("OneTime", "onetime", "ONE_TIME", "one_time"):
        assert ids(listed(*client, f"?invoiceType={spelling}")) == {data.MODERN, *LEGACY_ONETIME}
    for spelling in ("Recurring", "recurring"):
        assert ids(listed(*client, f"?invoiceType={spelling}")) == {data.LEGACY}
    assert ids(listed(*client, "?invoiceType=")) == every  # blank: not given


def test_invoice_type_is_kept_in_the_links(client: tuple[TestClient, Runtime]) -> None:
    body = listed(*client, "?invoiceType=onetime&size=1")
    links = body["links"]
    assert links["self"]["uri"] == "/invoices?size=1&offset=0&invoiceType=OneTime"  # type: ignore[index]
    assert links["next"]["uri"] == "/invoices?size=1&offset=1&invoiceType=OneTime"  # type: ignore[index]


def test_invoice_type_combines_with_the_filter(client: tuple[TestClient, Runtime]) -> None:
    after = '{"Field":"InvoiceDate","Value":"2026-12-01","Operator":"greater_than"}'
    assert ids(listed(*client, f"?invoiceType=Recurring&filter={after}")) == set()
    before = after.replace("greater_than", "less_than")
    assert ids(listed(*client, f"?invoiceType=Recurring&filter={before}")) == {data.LEGACY}


@pytest.mark.parametrize("value", ["Monthly", "one-time", "%C3%A9", "%00", "x" * 300])
def test_an_unknown_invoice_type_is_a_partner_center_400(
    client: tuple[TestClient, Runtime], value: str
) -> None:
    test_client, runtime = client
    response = test_client.get(f"/v1/invoices?invoiceType={value}", headers=pc_headers(runtime))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 800002 and "'invoiceType'" in body["description"]
    assert "Recurring or OneTime" in body["description"]
