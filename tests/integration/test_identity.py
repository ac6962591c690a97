"""The dev issuer's HTTP endpoints: token (client credentials), JWKS, OpenID configuration."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import quote

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE
from billport.auth.validation import validate_token
from billport.runtime import Runtime
from billport.server.errors import install_error_handlers
from billport.server.routes import identity
from billport.settings import Settings
from billport.store.clients import Client
from billport.store.db import Database
from tests.support.tokens import OTHER_TENANT, PARTNER_TENANT, auth_services, make_partner

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PC_SCOPE = "https://api.partnercenter.microsoft.com/.default"
TOKEN_PATH = f"/{PARTNER_TENANT}/oauth2/v2.0/token"


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Runtime:
    return auth_services(settings, database)


@pytest.fixture
def http(runtime: Runtime) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = runtime
    app.include_router(identity.router)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def app_client(runtime: Runtime) -> Client:
    make_partner(runtime.db, OTHER_TENANT)  # a second partner, to prove tenant isolation
    return make_partner(runtime.db, PARTNER_TENANT, secret="s3cret~with/odd:chars")


def _form(client: Client, **changes: str | None) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.secret,
        "scope": GRAPH_SCOPE,
    } | changes
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize(
    ("scope", "audience"), [(GRAPH_SCOPE, GRAPH_AUDIENCE), (PC_SCOPE, PARTNER_CENTER_AUDIENCE)]
)
def test_client_credentials(
    http: TestClient, runtime: Runtime, app_client: Client, scope: str, audience: str
) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, scope=scope))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == runtime.settings.token_lifetime
    principal = validate_token(
        body["access_token"],
        expected_audience=audience,
        keys=runtime.keys,
        settings=runtime.settings,
        now=runtime.clock(),
    )
    assert (principal.tenant_id, principal.client_id) == (PARTNER_TENANT, app_client.client_id)
    assert ("roles" in principal.claims) is (audience == GRAPH_AUDIENCE)


def test_http_basic_client_auth(http: TestClient, app_client: Client) -> None:
    pair = f"{quote(app_client.client_id, safe='')}:{quote(app_client.secret, safe='')}"
    headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    form = _form(app_client, client_id=None, client_secret=None)
    response = http.post(TOKEN_PATH, data=form, headers=headers)
    assert response.status_code == 200, response.text


def _error(response: object, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["error"] == error
    assert set(body) >= {"error_description", "error_codes", "timestamp", "trace_id"}
    return body


def test_bad_secret(http: TestClient, app_client: Client) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, client_secret="wrong"))
    assert "AADSTS7000215" in str(_error(response, 401, "invalid_client")["error_description"])


def test_bad_basic_secret_gets_basic_challenge(http: TestClient, app_client: Client) -> None:
    pair = base64.b64encode(f"{app_client.client_id}:nope".encode()).decode()
    form = _form(app_client, client_id=None, client_secret=None)
    response = http.post(TOKEN_PATH, data=form, headers={"Authorization": f"Basic {pair}"})
    _error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_unknown_client(http: TestClient, app_client: Client) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, client_id="no-such-app"))
    _error(response, 401, "invalid_client")


def test_missing_secret(http: TestClient, app_client: Client) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, client_secret=None))
    _error(response, 401, "invalid_client")


def test_client_of_another_tenant(http: TestClient, app_client: Client) -> None:
    response = http.post(f"/{OTHER_TENANT}/oauth2/v2.0/token", data=_form(app_client))
    assert "AADSTS700016" in str(_error(response, 401, "invalid_client")["error_description"])


@pytest.mark.parametrize(
    "tenant", ["common", "organizations", "ffffffff-0000-4000-8000-000000000000"]
)
def test_tenant_not_usable(http: TestClient, app_client: Client, tenant: str) -> None:
    response = http.post(f"/{tenant}/oauth2/v2.0/token", data=_form(app_client))
    _error(response, 400, "invalid_request")


@pytest.mark.parametrize("grant", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_unsupported_grant(http: TestClient, app_client: Client, grant: str) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, grant_type=grant))
    _error(response, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "scope",
    [
        "https://graph.microsoft.com/User.Read",
        "https://management.azure.com/.default",
        f"{GRAPH_SCOPE} {PC_SCOPE}",
        "openid",
    ],
)
def test_bad_scope(http: TestClient, app_client: Client, scope: str) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, scope=scope))
    _error(response, 400, "invalid_scope")


def test_oidc_scopes_are_ignored(http: TestClient, app_client: Client) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, scope=f"{GRAPH_SCOPE} offline_access"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "scope"])
def test_missing_parameter(http: TestClient, app_client: Client, missing: str) -> None:
    response = http.post(TOKEN_PATH, data=_form(app_client, **{missing: None}))
    _error(response, 400, "invalid_request")


def test_json_body_is_not_a_token_request(http: TestClient, app_client: Client) -> None:
    response = http.post(TOKEN_PATH, json=_form(app_client))
    _error(response, 400, "invalid_request")


def test_no_body(http: TestClient, app_client: Client) -> None:
    _error(http.post(TOKEN_PATH), 400, "invalid_request")


def test_jwks(http: TestClient, runtime: Runtime) -> None:
    response = http.get(f"/{PARTNER_TENANT}/discovery/v2.0/keys")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kid"] == runtime.keys.kid
    assert (key["kty"], key["use"], key["alg"], key["e"]) == ("RSA", "sig", "RS256", "AQAB")
    public = jwt.PyJWK(key).key
    assert public.public_numbers() == runtime.keys.public_key.public_numbers()


def test_openid_configuration(http: TestClient, runtime: Runtime, app_client: Client) -> None:
    response = http.get(f"/{PARTNER_TENANT}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["issuer"] == f"https://login.billport.local/{PARTNER_TENANT}/v2.0"
    assert config["token_endpoint"] == f"http://testserver/{PARTNER_TENANT}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"http://testserver/{PARTNER_TENANT}/discovery/v2.0/keys"
    assert http.get(config["jwks_uri"]).status_code == 200


def test_openid_configuration_uses_public_url(runtime: Runtime, app_client: Client) -> None:
    runtime.settings = runtime.settings.replace(public_url="https://billing.example.com/")
    app = FastAPI()
    app.state.runtime = runtime
    app.include_router(identity.router)
    with TestClient(app) as test_client:
        config = test_client.get("/common/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == "https://billing.example.com/common/oauth2/v2.0/token"
    assert config["issuer"] == "https://login.billport.local/{tenantid}/v2.0"


def test_openid_configuration_unknown_tenant(http: TestClient, app_client: Client) -> None:
    response = http.get(
        "/ffffffff-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration"
    )
    _error(response, 400, "invalid_tenant")


def _instance(http: TestClient, endpoint: str | None) -> object:
    params = {"api-version": "1.0"} | ({"authorization_endpoint": endpoint} if endpoint else {})
    return http.get("/common/discovery/instance", params=params)


def test_instance_discovery_knows_its_own_host(runtime: Runtime, app_client: Client) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = runtime
    app.include_router(identity.router)
    with TestClient(app, base_url="https://testserver:8443") as https:
        authorize = f"https://testserver/{PARTNER_TENANT}/oauth2/v2.0/authorize"  # as msal asks
        response = _instance(https, authorize)
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]
        body = response.json()  # type: ignore[attr-defined]
        assert body["api-version"] == "1.1"
        assert body["metadata"] == [
            {"preferred_network": "testserver:8443", "preferred_cache": "testserver:8443",
             "aliases": ["testserver:8443"]}
        ]  # fmt: skip
        endpoint = body["tenant_discovery_endpoint"]
        assert endpoint == (
            f"https://testserver:8443/{PARTNER_TENANT}/v2.0/.well-known/openid-configuration"
        )
        assert https.get(endpoint).status_code == 200


@pytest.mark.parametrize(
    "endpoint",
    [
        f"https://login.microsoftonline.com/{PARTNER_TENANT}/oauth2/v2.0/authorize",
        f"http://testserver/{PARTNER_TENANT}/oauth2/v2.0/authorize",  # not over https
    ],
)
def test_instance_discovery_refuses_other_hosts(http: TestClient, endpoint: str) -> None:
    body = _error(_instance(http, endpoint), 400, "invalid_instance")
    assert body["error_codes"] == [50049]


def test_instance_discovery_needs_an_authorization_endpoint(http: TestClient) -> None:
    _error(_instance(http, None), 400, "invalid_request")
