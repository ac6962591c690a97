"""The web console in the app, on SQLite and PostgreSQL: sign-in, refusals, every page.

Pages are rendered with data (the demo dataset, one finished export, logged calls) and on
an empty store; no route answers without the session, a partner token is refused, and
forms refuse cross-site posts (no or a wrong CSRF token, a foreign Origin, Sec-Fetch-Site).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.server.console.session import SESSION_COOKIE
from billport.settings import Settings
from billport.usecases import scenarios
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, add_invoice_lines, seed_demo
from tests.support.factory import app_client, opened
from tests.support.tokens import bearer

BASE = "http://testserver"
C = "/_billport/console"
PAGES = ("", "/exports", "/requests", "/scenario", "/invoices")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings) as runtime:
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with app_client(runtime, base_url=BASE, follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, runtime: Runtime) -> str:
    """Sign in through the form; returns the session's CSRF token (from a page)."""
    form = client.get(f"{C}/login")
    assert form.status_code == 200
    login_token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert login_token is not None
    answer = client.post(
        f"{C}/login",
        data={"login_token": login_token.group(1), "token": runtime.keys.admin_token},
        headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/_billport/console" in cookie
    )
    assert runtime.keys.admin_token not in cookie
    page = client.get(C)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


def with_data(runtime: Runtime, client: TestClient) -> str:
    """The demo dataset, one finished export of its invoice, a few logged calls."""
    seed_demo(runtime.db, runtime.settings)
    headers = bearer(runtime, None, DEMO_TENANT)
    started = client.post(
        "/v1.0/reports/partners/billing/reconciliation/billed/export",
        json={"invoiceId": DEMO_INVOICE},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert Worker(runtime).run(once=True) >= 1
    assert client.get(started.headers["Location"], headers=headers).status_code == 200
    return started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.parametrize("path", [*PAGES, "/exports/rows", "/exports/x", "/invoices/t/i"])
def test_no_route_without_a_session(client: TestClient, path: str) -> None:
    answer = client.get(C + path)
    if path == "/exports/rows":
        assert answer.status_code == 401
    else:
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(f"{C}/login?next=")
    for post in ("/scenario", "/reset", "/seed", "/logout"):
        assert client.post(C + post, data={"csrf": "x"}).status_code == 303


def test_a_forged_or_foreign_cookie_is_no_session(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, runtime)
    real = client.cookies.get(SESSION_COOKIE)
    assert real is not None
    sid, expires, mac = real.split(".")
    for forged in (f"{sid}.{int(expires) + 3600}.{mac}", f"x{sid}.{expires}.{mac}", "junk"):
        client.cookies.set(SESSION_COOKIE, forged, path=C)
        assert client.get(C).status_code == 303


def test_partner_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    seed_demo(runtime.db, runtime.settings)
    headers = bearer(runtime, None, DEMO_TENANT)
    assert client.get(C, headers=headers).status_code == 403
    assert client.get(f"{C}/exports/rows", headers=headers).status_code == 403
    sign_in(client, runtime)  # even with a session, a request with a partner token is refused
    assert client.get(C, headers=headers).status_code == 403


def test_wrong_admin_token_and_expired_form(client: TestClient, runtime: Runtime) -> None:
    form = client.get(f"{C}/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    wrong = client.post(f"{C}/login", data={"login_token": token.group(1), "token": "nope"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    assert SESSION_COOKIE not in client.cookies
    client.cookies.clear()
    stale = client.post(
        f"{C}/login", data={"login_token": token.group(1), "token": runtime.keys.admin_token}
    )
    assert stale.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_cross_site_sign_in_is_refused(client: TestClient, runtime: Runtime) -> None:
    form = client.get(f"{C}/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    data = {"login_token": token.group(1), "token": runtime.keys.admin_token}
    answer = client.post(f"{C}/login", data=data, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "csrf, headers",
    [
        (None, {}),
        ("wrong", {}),
        ("good", {"Origin": "https://evil.example"}),
        ("good", {"Origin": "null"}),
        ("good", {"Sec-Fetch-Site": "cross-site"}),
        ("good", {"Sec-Fetch-Site": "same-site"}),
    ],
)
def test_cross_site_posts_are_refused(
    client: TestClient, runtime: Runtime, csrf: str | None, headers: dict[str, str]
) -> None:
    good = sign_in(client, runtime)
    data = {"progression": "polls:9"} | ({"csrf": good if csrf == "good" else csrf} if csrf else {})
    answer = client.post(f"{C}/scenario", data=data, headers=headers)
    assert answer.status_code == 403
    assert scenarios.applied_scenario(runtime.db, runtime.settings, None).source == "default"
    logout = client.post(
        f"{C}/logout", data={k: v for k, v in data.items() if k == "csrf"}, headers=headers
    )
    assert logout.status_code == 403
    assert client.get(C).status_code == 200  # still signed in


def test_logout_ends_the_session(client: TestClient, runtime: Runtime) -> None:
    csrf = sign_in(client, runtime)
    copied = client.cookies.get(SESSION_COOKIE)
    answer = client.post(f"{C}/logout", data={"csrf": csrf}, headers={"Origin": BASE})
    assert answer.status_code == 303 and answer.headers["location"] == f"{C}/login"
    assert client.get(C).status_code == 303
    client.cookies.set(SESSION_COOKIE, copied or "", path=C)  # a copy of the cookie is revoked
    assert client.get(C).status_code == 303


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_empty(client: TestClient, runtime: Runtime, path: str) -> None:
    sign_in(client, runtime)
    page = client.get(C + path)
    assert page.status_code == 200, page.text
    assert "Content-Security-Policy" in page.headers
    assert page.headers["cache-control"] == "no-store"
    assert runtime.keys.admin_token not in page.text
    if path in ("/exports", "/invoices"):
        assert 'class="empty"' in page.text


def test_every_page_renders_with_data(client: TestClient, runtime: Runtime) -> None:
    operation_id = with_data(runtime, client)
    sign_in(client, runtime)
    overview = client.get(C).text
    assert "billedReconciliation" in overview and "succeeded" in overview
    exports = client.get(f"{C}/exports").text
    assert operation_id in exports and "status-succeeded" in exports
    rows = client.get(f"{C}/exports/rows")
    assert rows.status_code == 200 and operation_id in rows.text and "<html" not in rows.text
    detail = client.get(f"{C}/exports/{operation_id}")
    assert detail.status_code == 200 and "Manifest" in detail.text
    assert re.search(r'href="http://testserver/blobs/[^"]+part-00000-[^"]+\?[^"]*sig=', detail.text)
    assert client.get(f"{C}/exports/no-such-operation").status_code == 404
    requests = client.get(f"{C}/requests").text
    assert "/v1.0/reports/partners/billing/reconciliation/billed/export" in requests
    assert "<svg" in requests and "compliant" in requests
    filtered = client.get(f"{C}/requests", params={"status": "202"}).text
    log = filtered[filtered.index("<h2>Request log</h2>") :]
    assert "POST /v1.0/reports" in log and "GET /v1.0/reports" not in log
    invoices = client.get(f"{C}/invoices").text
    assert DEMO_INVOICE in invoices
    invoice = client.get(f"{C}/invoices/{DEMO_TENANT}/{DEMO_INVOICE}")
    assert invoice.status_code == 200, invoice.text
    assert "add up to the invoice" in invoice.text
    assert invoice.text.count('<svg class="chart"') == 2
    assert client.get(f"{C}/invoices/{DEMO_TENANT}/NOPE").status_code == 404


def test_scenario_form_uses_the_api_parser(client: TestClient, runtime: Runtime) -> None:
    csrf = sign_in(client, runtime)
    bad = client.post(f"{C}/scenario", data={"csrf": csrf, "retryAfter": "-3", "action": "save"})
    assert bad.status_code == 400
    assert "Invalid scenario: &#39;retryAfter&#39; must be between 0 and 86400." in bad.text
    saved = client.post(
        f"{C}/scenario",
        data={
            "csrf": csrf,
            "action": "save",
            "progression": "polls:3",
            "retryAfter": "7",
            "faults": '[{"route": "/v1/invoices*", "kind": "503"}]',
            "extra": '{"seed": 5}',
        },
    )
    assert saved.status_code == 303
    applied = scenarios.applied_scenario(runtime.db, runtime.settings, None)
    assert applied.source == "server"
    assert applied.scenario.to_json()["retryAfter"] == 7
    assert applied.scenario.to_json()["seed"] == 5
    shown = client.get(saved.headers["location"]).text
    assert "Saved the scenario of the server." in shown and 'value="polls:3"' in shown
    cleared = client.post(f"{C}/scenario", data={"csrf": csrf, "action": "clear"})
    assert cleared.status_code == 303
    assert scenarios.applied_scenario(runtime.db, runtime.settings, None).source == "default"


def test_tenant_scenario_reset_and_seed(client: TestClient, runtime: Runtime) -> None:
    csrf = sign_in(client, runtime)
    seeded = client.post(f"{C}/seed", data={"csrf": csrf, "demo": "on"}, headers={"Origin": BASE})
    assert seeded.status_code == 303, seeded.text
    assert "Seeded" in client.get(seeded.headers["location"]).text
    again = client.post(f"{C}/seed", data={"csrf": csrf, "demo": "on"})
    assert again.status_code == 400 and "Seed:" in again.text
    saved = client.post(
        f"{C}/scenario",
        data={"csrf": csrf, "action": "save", "tenant": DEMO_TENANT, "retryAfter": "4"},
    )
    assert saved.status_code == 303
    assert scenarios.applied_scenario(runtime.db, runtime.settings, DEMO_TENANT).source == "tenant"
    assert scenarios.applied_scenario(runtime.db, runtime.settings, None).source == "default"
    reset = client.post(f"{C}/reset", data={"csrf": csrf, "all": "on"})
    assert reset.status_code == 303
    assert "all data removed" in client.get(reset.headers["location"]).text
    assert "No invoices" in client.get(f"{C}/invoices").text


def test_the_verdict_follows_the_invoice_lines(client: TestClient, runtime: Runtime) -> None:
    seed_demo(runtime.db, runtime.settings)
    sign_in(client, runtime)
    path = f"{C}/invoices/{DEMO_TENANT}/{DEMO_INVOICE}"
    before = client.get(path).text
    assert "add up to the invoice" in before
    assert client.get(path).text == before  # kept: same invoice, same lines
    lines = re.search(r"The ([\d,]+) line items add up", before)
    assert lines is not None
    add_invoice_lines(runtime.db, runtime.settings, 5)  # new lines (the total follows them)
    count = int(lines.group(1).replace(",", "")) + 5
    assert f"The {count:,} line items add up" in client.get(path).text
