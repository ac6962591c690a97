"""``size`` and ``offset`` of ``GET /v1/invoices`` are integers as .NET parses them.

The service binds them with .NET's int parsing (``NumberStyles.Integer``): digits with an
optional sign and surrounding whitespace. ``1.0`` or ``1e2`` is a 400, not page 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from billport.settings import Settings
from tests.support import tokens
from tests.support.factory import app_client, opened
from tests.support.tokens import make_partner

TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with opened(settings) as runtime:
        make_partner(runtime.db, TENANT, is_default=True)
        headers = tokens.bearer(runtime, None, TENANT, "partner-center")
        with app_client(runtime, headers=headers) as test_client:
            yield test_client


@pytest.mark.parametrize("name", ["offset", "size"])
@pytest.mark.parametrize("text", ["1.0", "1e2", "1E2", "1.5", "1_0", "0x1", "1,0", "１", ""])
def test_non_integer_text_is_a_partner_center_400(client: TestClient, name: str, text: str) -> None:
    response = client.get(f"/v1/invoices?{name}={quote(text)}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 800002
    assert body["data"] == [] and body["source"] == "PartnerFD"
    assert name in body["description"]


@pytest.mark.parametrize("text", ["1", "01", "+1", " 1", "1 "])
def test_integer_text_as_dotnet_parses_it_is_accepted(client: TestClient, text: str) -> None:
    response = client.get(f"/v1/invoices?size=2&offset={quote(text)}")
    assert response.status_code == 200, response.text
    assert response.json()["links"]["self"]["uri"] == "/invoices?size=2&offset=1"


def test_the_schema_still_documents_integers(client: TestClient) -> None:
    listing = client.get("/openapi.json").json()["paths"]["/v1/invoices"]["get"]
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    for name in ("size", "offset"):
        types = {s.get("type") for s in params[name].get("anyOf", [params[name]])}
        assert "integer" in types and "string" not in types, params[name]
