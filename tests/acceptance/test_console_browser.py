"""The console in a real browser: Debian's headless Chromium driving a real `billport serve`.

Sign in, watch an export started through the Graph API turn ``succeeded`` on the Exports
page (the page's own polling), change the scenario on the Scenario page and see its
``Retry-After`` on the next poll of an operation, open an invoice's charts, sign out.
Each page's screenshot goes to docs/screenshots/. Chromium and chromedriver come from
Debian's packages (.ci/run installs them); without them the test fails, it never skips.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from billport.settings import Settings
from tests.support.data import DEMO_INVOICE, DEMO_TENANT, seed_demo
from tests.support.factory import opened
from tests.support.processes import process_env, processes
from tests.support.tokens import bearer

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"
WAIT_SECONDS = 15


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "the console browser tests need Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver; .ci/run installs them)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,820",
                     "--force-prefers-reduced-motion", "--no-first-run"):  # fmt: skip
        options.add_argument(argument)
    # The Service's own executable path: Selenium Manager never runs, nothing is downloaded.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    # The window's frame takes some of its height from the page: leave room for it.
    driver.set_window_size(1200, min(max(int(height), 500) + 160, 1500))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1200, 820)


def wait(driver: WebDriver, condition, seconds: float = WAIT_SECONDS) -> None:  # type: ignore[no-untyped-def]
    try:
        # A page being replaced mid-check (a click, a live refresh) is "not yet", not a failure.
        WebDriverWait(
            driver,
            seconds,
            poll_frequency=0.2,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(lambda d: condition(d))
    except TimeoutException:
        text = driver.find_element(By.TAG_NAME, "body").text[:1500]
        raise AssertionError(f"timed out on {driver.current_url}:\n{text}") from None


def heading(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "h1").text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_console_in_chromium(settings: Settings, tmp_path: Path, browser: WebDriver) -> None:
    started = time.monotonic()
    env = process_env(settings.effective_database_url, settings.data_dir)
    with opened(settings) as runtime, processes(tmp_path, env) as procs, ExitStack() as stack:
        seed_demo(runtime.db, runtime.settings)
        base = procs.serve("serve", worker=True)
        console = f"{base}/_billport/console"
        # The server runs on the real clock (durations on the pages are real ones).
        headers = bearer(runtime, None, DEMO_TENANT, now=datetime.now(UTC))
        graph = stack.enter_context(httpx.Client(base_url=base, headers=headers))

        # Signing in: the console sends us to the form, the admin token lets us in.
        browser.get(f"{console}/exports")
        wait(browser, lambda d: "/login" in d.current_url)
        shot(browser, "login")
        browser.find_element(By.ID, "token").send_keys(runtime.keys.admin_token)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait(browser, lambda d: heading(d) == "Exports")
        assert runtime.keys.admin_token not in browser.current_url

        # An export started through the API turns succeeded on the open page.
        posted = graph.post(EXPORT, json={"invoiceId": DEMO_INVOICE})
        assert posted.status_code == 202, posted.text
        operation = posted.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        row = f'tr[data-operation="{operation}"]'
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row))
        wait(
            browser,
            lambda d: (
                d.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "succeeded"
            ),
        )
        shot(browser, "exports")
        browser.find_element(By.CSS_SELECTOR, f"{row} a").click()
        wait(browser, lambda d: "Manifest" in d.page_source)
        assert browser.find_elements(By.CSS_SELECTOR, "a[download]")
        shot(browser, "export")

        # A scenario set on the page applies to the next poll.
        browser.get(f"{console}/scenario")
        for field, value in (("progression", "polls:3"), ("retryAfter", "7")):
            box = browser.find_element(By.ID, field)
            box.clear()
            box.send_keys(value)
        browser.find_element(By.CSS_SELECTOR, "#scenario-form button[value=save]").click()
        wait(browser, lambda d: "Saved the scenario of the server." in d.page_source)
        shot(browser, "scenario")
        second = graph.post(EXPORT, json={"invoiceId": DEMO_INVOICE})
        assert second.status_code == 202, second.text
        polled = graph.get(second.headers["Location"])
        assert polled.json()["status"] in ("notStarted", "running")
        assert polled.headers["Retry-After"] == "7"

        # The request log and the compliance timeline show those calls.
        browser.get(f"{console}/requests")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.timeline circle"))
        assert "/v1.0/reports/partners/billing" in browser.page_source
        shot(browser, "requests")

        # Invoices: the list, then one invoice's charts and verdict.
        browser.get(f"{console}/invoices")
        shot(browser, "invoices")
        browser.find_element(By.LINK_TEXT, DEMO_INVOICE).click()
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) > 1)
        assert "add up to the invoice" in browser.find_element(By.ID, "verdict").text
        shot(browser, "invoice")

        # Resellers: one declared through the admin API, previewed next to its cost.
        admin = {"Authorization": f"Bearer {runtime.keys.admin_token}"}
        reseller = "5e11e500-0000-4000-8000-000000000001"
        put = graph.put(f"/_billport/resellers/{reseller}", headers=admin,
                        json={"name": "Tailwind Resellers", "mpnId": "3304391"})  # fmt: skip
        assert put.status_code == 200, put.text
        rules = {"default": {"percent": "15"}}
        assert graph.put("/_billport/markup-rules", headers=admin, json=rules).is_success
        browser.get(f"{console}/resellers")
        browser.find_element(By.LINK_TEXT, "Preview").click()
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) > 0)
        assert "Margin" in browser.find_element(By.ID, "preview").text
        shot(browser, "resellers")

        browser.get(console)
        wait(browser, lambda d: heading(d) == "Overview")
        shot(browser, "overview")

        # Dark mode follows the browser's preference.
        light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        dark = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", dark)  # type: ignore[attr-defined]
        browser.get(f"{console}/invoices/{DEMO_TENANT}/{DEMO_INVOICE}")
        wait(browser, lambda d: d.find_elements(By.ID, "verdict"))
        assert (
            browser.execute_script("return getComputedStyle(document.body).backgroundColor")
            != light
        )
        shot(browser, "invoice-dark")
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})  # type: ignore[attr-defined]

        # Signing out ends the session: the next page asks to sign in again.
        browser.find_element(By.CSS_SELECTOR, ".signout button").click()
        wait(browser, lambda d: "/login" in d.current_url)
        browser.get(f"{console}/invoices")
        wait(browser, lambda d: "/login" in d.current_url)
    assert time.monotonic() - started < 60
