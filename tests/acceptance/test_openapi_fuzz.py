"""Schemathesis over the app's own OpenAPI schema: no 5xx, no response that breaks the schema.

Every route is called with valid tokens (the right audience per surface) against a small
dataset, with a bounded number of generated examples per operation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, issue_token
from billport.runtime import open_runtime
from billport.settings import load_settings
from tests.support import exports as data
from tests.support.factory import app_for

pytestmark = pytest.mark.slow
TOKENS: dict[str, str] = {}
_WORKDIR = tempfile.TemporaryDirectory(prefix="billport-fuzz-")


def _load_schema() -> schemathesis.BaseSchema:
    """Build the app over a small dataset; lazily, when pytest first asks for the schema."""
    app_settings = load_settings(
        environ={}, data_dir=Path(_WORKDIR.name) / "data", now="2026-11-21T12:00:00Z", worker=False
    )
    # schemathesis' Host, so exports get their Location rather than the allow-list's 400
    app_settings = app_settings.replace(allowed_hosts="localhost,127.0.0.1,::1,testserver")
    runtime = open_runtime(app_settings)  # not ``opened``: it lives as long as the session
    data.build_dataset(runtime)
    for name, audience in (("graph", GRAPH_AUDIENCE), ("pc", PARTNER_CENTER_AUDIENCE)):
        TOKENS[name] = issue_token(
            runtime.keys, app_settings, tenant_id=data.TENANT, client_id="fuzz", audience=audience
        )
    app = app_for(runtime)
    app.state.runtime = runtime  # schemathesis' ASGI transport does not run the lifespan
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = _load_schema()


def _headers(path: str) -> dict[str, str]:
    if path.startswith("/v1/"):
        return {"Authorization": f"Bearer {TOKENS['pc']}"}
    if path.startswith(("/v1.0/", "/beta/")):
        return {"Authorization": f"Bearer {TOKENS['graph']}"}
    return {}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    # Positive-data acceptance is left out on purpose: a schema-valid string can still be an
    # invalid Partner Center filter or OAuth2 grant, and those must answer 400.
    case.call_and_validate(
        headers=_headers(case.path),
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_headers_conformance,
            checks.response_schema_conformance,
        ],
    )
