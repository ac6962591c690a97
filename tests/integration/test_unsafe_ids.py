"""Ids that become paths are refused where they enter (issue 18 item 1): the admin API, the
CLI, the Graph export body, the admin tenant paths; one validator (billport/billing/ids.py).

``POST /_billport/seed {"invoice": "../../x"}`` used to create that invoice; its export then
failed three times and left a staging file behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from billport.billing.ids import check_blob_name, check_invoice_id, check_tenant_id
from billport.cli import main
from billport.errors import InvalidRequest
from billport.runtime import Runtime
from billport.settings import load_settings
from billport.store.tables import invoices, line_items
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.sandbox import admin_headers

UNSAFE = ["../../x", "..", ".", "a/b", "a\\b", "/etc", "C:x", "a\x00b", "é", " ", "x" * 21, "-x"]
SAFE = ["G016907411", "D02005YFHI", "a.b_c-1", "x" * 20]


@pytest.mark.parametrize("raw", UNSAFE)
def test_the_validator_refuses_what_is_not_one_path_segment(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="invoice id is 1 to 20"):
        check_invoice_id(raw)
    with pytest.raises(InvalidRequest, match="tenant id"):
        check_tenant_id(raw if raw != "x" * 21 else "x" * 37)


@pytest.mark.parametrize("raw", SAFE)
def test_the_validator_keeps_real_ids(raw: str) -> None:
    assert check_invoice_id(f" {raw} ") == raw
    assert check_tenant_id(data.TENANT) == data.TENANT


def test_the_validator_refuses_non_strings_and_shows_unprintables_escaped() -> None:
    with pytest.raises(InvalidRequest, match="'int'"):
        check_invoice_id(5)
    with pytest.raises(InvalidRequest, match=r"a\\x00b"):
        check_invoice_id("a\x00b")


def test_blob_names_follow_azure_limits() -> None:
    check_blob_name("c/" + "n" * 1024)
    check_blob_name("c/" + "/".join(["s"] * 254))
    for name, code in [
        ("c/" + "n" * 1025, "OutOfRangeInput"),
        ("c/" + "/".join(["s"] * 255), "InvalidUri"),
        ("c/a\x7fb", "InvalidUri"),
        ("c/a\ud800", "InvalidUri"),
    ]:
        with pytest.raises(InvalidRequest) as refused:
            check_blob_name(name)
        assert getattr(refused.value, "code", None) == code


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One store for the module, on SQLite: the checks run before any query."""
    data_dir = tmp_path_factory.mktemp("unsafe-ids") / "data"
    settings = load_settings(
        environ={}, data_dir=data_dir, now="2026-11-21T12:00:00Z", worker=False
    )
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        yield runtime


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime) as client:
        yield client


def _stored_ids(runtime: Runtime) -> set[str]:
    with runtime.db.connect() as conn:
        found = conn.execute(sa.select(invoices.c.invoice_id)).scalars()
        lines = conn.execute(sa.select(line_items.c.invoice_id).distinct()).scalars()
        return {*found, *lines}


@pytest.mark.parametrize("raw", ["../../x", "..", "a/b", "a\\b", "x\x00", "", 7, "é"])
def test_admin_seed_refuses_an_unsafe_invoice_in_its_envelope(
    runtime: Runtime, raw: object
) -> None:
    before = _stored_ids(runtime)
    with app_client(runtime) as client:
        response = client.post(
            "/_billport/seed", json={"invoice": raw, "lineItems": 3}, headers=admin_headers(runtime)
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and "'invoice'" in error["message"]
    assert _stored_ids(runtime) == before
    assert not list(runtime.settings.data_dir.rglob("x"))


def test_admin_seed_still_appends_to_a_safe_invoice(runtime: Runtime, client: TestClient) -> None:
    response = client.post(
        "/_billport/seed", json={"invoice": "G000000077", "lineItems": 2},
        headers=admin_headers(runtime),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert "G000000077" in _stored_ids(runtime)


@pytest.mark.parametrize("raw", ["../../x", "a/b", "..", "x\x00"])
def test_graph_export_refuses_an_unsafe_invoice_id(
    runtime: Runtime, client: TestClient, raw: str
) -> None:
    response = client.post(
        "/v1.0/reports/partners/billing/reconciliation/billed/export",
        json={"invoiceId": raw},
        headers=data.graph_headers(runtime),
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and "'invoiceId'" in error["message"]


@pytest.mark.parametrize("raw", ["a%5Cb", "x%00", "%C3%A9", "-x", "%2E%2E"])
def test_admin_tenant_paths_refuse_an_unsafe_tenant_id(
    runtime: Runtime, client: TestClient, raw: str
) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(
            method,
            f"/_billport/tenants/{raw}/scenario",
            json={"retryAfter": 1} if method == "PUT" else None,
            headers=admin_headers(runtime),
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "BadRequest"


def test_cli_seed_refuses_an_unsafe_invoice(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(main, ["seed", *store, "--invoice", "../../x"], env={})
    assert result.exit_code == 2, result.output
    assert "invoice id is 1 to 20" in result.output
    assert not list((tmp_path / "data").rglob("x"))  # no directory, no blob


def test_cli_scenario_refuses_an_unsafe_tenant_before_any_call(tmp_path: Path) -> None:
    # No server listens on port 9: refused before any connection is tried.
    args = ["--server", "http://127.0.0.1:9", "--admin-token", "t" * 40, "--tenant", "../x"]
    for command in (["scenario", "show"], ["scenario", "reset"]):
        result = CliRunner().invoke(main, [*command, *args], env={})
        assert result.exit_code == 2, result.output
        assert "tenant id" in result.output
