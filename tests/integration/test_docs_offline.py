"""/docs and /redoc work without internet: every asset they load is served by billport."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from billport.server import docs_ui
from billport.settings import load_settings
from tests.support.factory import app_client, opened
from tests.support.sandbox import admin_headers, put_scenario

ROOT = Path(__file__).resolve().parents[2]
ATTRIBUTES = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
PAGES = ("/docs", "/redoc")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'billport.db'}",
        now="2026-11-21T12:00:00Z",
        worker=False,
    )
    with opened(settings) as runtime, app_client(runtime) as client:
        client.headers.update(admin_headers(runtime))  # for put_scenario; pages need none
        yield client


def referenced(html: str) -> list[str]:
    return ATTRIBUTES.findall(html)


@pytest.mark.parametrize("page", PAGES)
def test_pages_reference_only_local_assets_that_answer(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html  # no CDN, no fonts, no validator badge: nothing outside
    urls = referenced(html)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith(docs_ui.ASSETS + "/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        local = docs_ui.STATIC / url.removeprefix(docs_ui.ASSETS + "/")
        assert asset.content == local.read_bytes()


def test_swagger_ui_loads_the_schema_and_its_own_styles(client: TestClient) -> None:
    html = client.get("/docs").text
    assert docs_ui.SWAGGER_CSS in referenced(html)
    assert "url: '/openapi.json'" in html
    assert '"validatorUrl": null' in html
    assert client.get(docs_ui.OAUTH2_REDIRECT).status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_missing_asset_is_a_404(client: TestClient) -> None:
    assert client.get(f"{docs_ui.ASSETS}/redoc/nothing.js").status_code == 404


def test_docs_are_exempt_from_sandbox_faults(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    put_scenario(client, runtime, {"faults": [{"route": "*", "kind": "503"}]})
    assert client.get("/v1/invoices").status_code == 503  # the fault applies elsewhere
    for url in (*PAGES, docs_ui.SWAGGER_JS, docs_ui.REDOC_JS, docs_ui.OAUTH2_REDIRECT):
        assert client.get(url).status_code == 200, url


def test_assets_are_package_data() -> None:
    """A wheel carries the assets: each file matches a package-data pattern of pyproject."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["billport"]
    package = ROOT / "billport"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}  # as setuptools
    files = [p for p in docs_ui.STATIC.rglob("*") if p.is_file()]
    assert len(files) >= 8
    for path in files:
        assert path in shipped, path.relative_to(package)
