"""``PartnerCenterClient.invoices()`` and ``billport invoices list`` over the real app.

The service pages legacy invoices with ``size``/``offset`` and returns every matching modern
invoice on every page; the client must still give each invoice exactly once, in the order
first seen.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from billport.cli import main
from billport.client import HttpClient, PartnerCenterClient, StaticToken
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.tables import invoices
from tests.support.factory import app_client, live_server, opened
from tests.support.tokens import PARTNER_TENANT, make_partner, token

PAGE = 2
# Seven legacy invoices: four pages of PAGE, the last one short.
LEGACY = [f"L{n:07d}" for n in range(1, 8)]
MODERN = ["M0000001", "M0000002"]
# On every page: that page's legacy invoices, then all the modern ones.
FIRST_SEEN = LEGACY[:PAGE] + MODERN + LEGACY[PAGE:]
CURRENCIES = {  # id -> (code, symbol, totalCharges)
    "L0000001": ("USD", "$", "1234.5"),
    "L0000002": ("JPY", "¥", "98765"),
    "L0000003": ("KWD", "KWD", "12.345"),
    "L0000004": ("GBP", "£", "-40"),
    "M0000001": ("EUR", "€", "1000000.10"),
    "M0000002": ("USD", "$", "0.125"),
}


def row(invoice_id: str, day: int) -> dict[str, Any]:
    legacy = invoice_id.startswith("L")
    when = datetime(2024, 1 if legacy else 2, day, tzinfo=UTC)
    code, symbol, total = CURRENCIES.get(invoice_id, ("USD", "$", "10.00"))
    return {
        "tenant_id": PARTNER_TENANT,
        "invoice_id": invoice_id,
        "invoice_date": when,
        "billing_period_start": when.replace(day=1),
        "billing_period_end": when,
        "total_charges": total,
        "paid_amount": "0",
        "currency_code": code,
        "currency_symbol": symbol,
        "document_type": "invoice",
        "invoice_type": "Recurring" if legacy else "OneTime",
        "commerce": "legacy" if legacy else "modern",
        "amends_of": None,
        "details": "[]",
        "tax_receipts": "[]",
    }


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        make_partner(runtime.db, PARTNER_TENANT, is_default=True)
        rows = [row(i, n + 1) for n, i in enumerate(LEGACY)]
        rows += [row(i, n + 1) for n, i in enumerate(MODERN)]
        with runtime.db.begin() as conn:
            conn.execute(invoices.insert(), rows)
        yield runtime


@pytest.fixture
def bearer_token(runtime: Runtime) -> str:
    return token(runtime, None, PARTNER_TENANT, "partner-center")


def page_ids(test_client: Any, bearer_token: str, offset: int) -> list[str]:
    response = test_client.get(
        f"/v1/invoices?size={PAGE}&offset={offset}",
        headers={"Authorization": f"Bearer {bearer_token}"},
    )
    return [item["id"] for item in response.json()["items"]]


def test_client_pages_through_legacy_invoices_giving_each_invoice_once(
    runtime: Runtime, bearer_token: str
) -> None:
    with app_client(runtime) as test_client:
        pages = [page_ids(test_client, bearer_token, o) for o in range(0, len(LEGACY), PAGE)]
        http = HttpClient(test_client)
        pc = PartnerCenterClient(StaticToken(bearer_token), http, "http://testserver")
        listed = [invoice["id"] for invoice in pc.invoices(size=PAGE)]
        first_page = [invoice["id"] for invoice in pc.invoices(size=PAGE, pages=1)]
    # The premise: more legacy invoices than one page holds, modern ones on every page.
    assert len(pages) == 4 and all(page[-len(MODERN) :] == MODERN for page in pages)
    assert listed == FIRST_SEEN
    assert Counter(listed) == Counter(LEGACY + MODERN)  # each exactly once
    assert first_page == LEGACY[:PAGE] + MODERN


def test_cli_lists_each_invoice_once_across_pages(runtime: Runtime, bearer_token: str) -> None:
    with live_server(runtime) as url:
        args = ["--server", url, "--token", bearer_token, "--size", str(PAGE), "--all"]
        as_json = CliRunner().invoke(main, ["invoices", "list", *args, "--format", "json"])
        as_csv = CliRunner().invoke(main, ["invoices", "list", *args, "--format", "csv"])
        table = CliRunner().invoke(main, ["invoices", "list", *args])
    assert as_json.exit_code == 0, as_json.output
    listed = json.loads(as_json.stdout, parse_float=Decimal)
    assert [invoice["id"] for invoice in listed] == FIRST_SEEN
    assert as_csv.exit_code == 0, as_csv.output
    assert [line.split(",")[0] for line in as_csv.stdout.splitlines()[1:]] == FIRST_SEEN
    assert table.exit_code == 0, table.output
    assert f"{len(FIRST_SEEN)} invoices" in table.stdout
    for invoice_id in FIRST_SEEN:
        assert table.stdout.count(invoice_id) == 1


def test_cli_table_formats_money_per_currency_and_json_keeps_it_exact(
    runtime: Runtime, bearer_token: str
) -> None:
    with live_server(runtime) as url:
        args = ["invoices", "list", "--server", url, "--token", bearer_token, "--all"]
        table = CliRunner().invoke(main, args)
        as_json = CliRunner().invoke(main, [*args, "--format", "json"])
        shown = CliRunner().invoke(
            main, ["invoices", "show", "L0000002", "--server", url, "--token", bearer_token]
        )
    assert table.exit_code == 0, table.output
    rows = {
        line.split("│")[1].strip(): line
        for line in table.stdout.splitlines()
        if "│ L" in line or "│ M" in line
    }
    expected = {  # totalCharges, paidAmount
        "L0000001": ("$1,234.50", "$0.00"),
        "L0000002": ("¥98,765", "¥0"),
        "L0000003": ("KWD 12.345", "KWD 0.000"),
        "L0000004": ("-£40.00", "£0.00"),
        "M0000001": ("€1,000,000.10", "€0.00"),
        "M0000002": ("$0.125", "$0.00"),  # a digit beyond the places is kept, not rounded
    }
    for invoice_id, (total, paid) in expected.items():
        cells = [c.strip() for c in rows[invoice_id].split("│")]
        assert cells[-3:-1] == [total, paid], rows[invoice_id]
    listed = {i["id"]: i for i in json.loads(as_json.stdout, parse_float=Decimal)}
    assert listed["L0000001"]["totalCharges"] == Decimal("1234.5")  # as the service sent it
    assert listed["M0000002"]["totalCharges"] == Decimal("0.125")
    assert shown.exit_code == 0, shown.output
    assert "¥98,765" in shown.stdout
