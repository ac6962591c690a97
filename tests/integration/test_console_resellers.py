"""The console's Resellers page (SQLite and PostgreSQL): who owns what, the preview of a
reseller's invoice beside its cost, and the rules form (CSRF-checked, the API's parser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.usecases import resellers
from tests.integration.test_console import BASE, C, sign_in
from tests.support.data import seed_demo
from tests.support.factory import app_client, opened

RESELLER = "5e11e500-0000-4000-8000-000000000001"
SAME_SITE = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, base_url=BASE, follow_redirects=False) as client:
        yield client


def test_empty_state_and_no_session(client: TestClient, runtime: Runtime) -> None:
    assert client.get(f"{C}/resellers").status_code == 303  # to the sign-in form
    sign_in(client, runtime)
    page = client.get(f"{C}/resellers")
    assert page.status_code == 200 and "No resellers yet" in page.text


def test_preview_and_rules_form(client: TestClient, runtime: Runtime) -> None:
    seed_demo(runtime.db, runtime.settings)
    request = resellers.ResellerRequest(RESELLER, "Tailwind Resellers", "3304391")
    resellers.add_reseller(runtime.db, request, runtime.clock())
    resellers.set_rules(runtime.db, {"default": {"percent": "20"}}, runtime.clock())
    csrf = sign_in(client, runtime)
    page = client.get(f"{C}/resellers", params={"reseller": RESELLER})
    assert page.status_code == 200, page.text
    assert "Tailwind Resellers" in page.text and "3304391" in page.text
    invoice = re.search(r'<option value="([^"]+)" selected>', page.text)
    assert invoice is not None
    shown = resellers.preview(runtime.db, RESELLER, invoice.group(1))
    assert shown.price > shown.cost > 0
    for amount in (shown.price, shown.cost, shown.price - shown.cost):
        assert f"{amount:,.2f}" in page.text  # each figure, formatted in its currency
    assert "<svg" in page.text
    # the rules form: CSRF-checked, the API's parser and its message
    rules = '{"rules": [{"price": "3"}]}'
    form = {"csrf": csrf, "provider": shown.reseller.provider_id, "rules": rules}
    bad = client.post(f"{C}/resellers/rules", data=form, headers=SAME_SITE)
    assert bad.status_code == 400 and "needs the &#39;currency&#39;" in bad.text
    assert rules.replace('"', "&#34;") in bad.text  # the text is kept for fixing
    refused = client.post(f"{C}/resellers/rules", data={**form, "csrf": "x"}, headers=SAME_SITE)
    assert refused.status_code == 403
    form["rules"] = '{"default": {"percent": "50"}}'
    saved = client.post(f"{C}/resellers/rules", data=form, headers=SAME_SITE)
    assert saved.status_code == 303 and "Saved" in saved.headers["location"]
    again = resellers.preview(runtime.db, RESELLER, invoice.group(1))
    assert again.price > shown.price and again.cost == shown.cost
    assert resellers.rules_of(runtime.db)[1] == {"rules": [], "default": {"percent": "50"}}
    assert Decimal(0) < again.cost
