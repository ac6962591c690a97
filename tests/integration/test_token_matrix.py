"""Every way a bearer token can be wrong, against one Graph and one Partner Center route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient

from billport.auth.keys import KeyRing
from billport.auth.validation import PERSONAL_ACCOUNT_TENANT
from billport.runtime import Runtime
from billport.server.auth import GraphPrincipal, PartnerCenterPrincipal
from billport.server.errors import install_error_handlers
from billport.settings import Settings
from billport.store.db import Database
from tests.support.tokens import OTHER_TENANT, PARTNER_TENANT, auth_services, make_partner, token

GRAPH = "/v1.0/probe"
PC = "/v1/probe"


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Runtime:
    return auth_services(settings, database)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = runtime

    @app.get(GRAPH)
    def graph_probe(principal: GraphPrincipal) -> dict[str, str]:
        return {"tenant": principal.tenant_id, "client": principal.client_id}

    @app.get(PC)
    def pc_probe(principal: PartnerCenterPrincipal) -> dict[str, str]:
        return {"tenant": principal.tenant_id, "client": principal.client_id}

    make_partner(runtime.db, PARTNER_TENANT)
    with TestClient(app) as test_client:
        yield test_client


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _claims(runtime: Runtime, audience: str) -> dict[str, Any]:
    return jwt.decode(token(runtime, None, audience=audience), options={"verify_signature": False})


def _alg_none(runtime: Runtime, audience: str) -> str:
    return _forge({"alg": "none", "typ": "JWT"}, _claims(runtime, audience), lambda _: b"")


def _hs256_public_key(runtime: Runtime, audience: str) -> str:
    # The classic key-confusion attack: HMAC keyed with the server's *public* key.
    secret = runtime.keys.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": runtime.keys.kid}
    claims = _claims(runtime, audience)
    return _forge(header, claims, lambda m: hmac.new(secret, m, hashlib.sha256).digest())


def _other_key(runtime: Runtime, audience: str) -> str:
    # Same kid as ours, signed by a key the server never saw.
    claims = _claims(runtime, audience)
    stranger = KeyRing.ephemeral().private_key
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": runtime.keys.kid})


def _tampered(runtime: Runtime, audience: str) -> str:
    head, _, signature = token(runtime, None, audience=audience).split(".")
    # Move the token to another tenant, consistently, keeping the original signature.
    issuer = f"{runtime.settings.dev_issuer}/{OTHER_TENANT}/v2.0"
    claims = _claims(runtime, audience) | {"tid": OTHER_TENANT, "iss": issuer}
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


def _unknown_kid(runtime: Runtime, audience: str) -> str:
    return jwt.encode(
        _claims(runtime, audience),
        KeyRing.ephemeral().private_key,
        algorithm="RS256",
        headers={"kid": "someone-else"},
    )


# name -> (make token | raw header, expected status, fragment of the message)
Case = tuple[Callable[[Runtime, str], dict[str, str]], int, str]


def _auth(make: Callable[[Runtime, str], str]) -> Callable[[Runtime, str], dict[str, str]]:
    return lambda runtime, audience: {"Authorization": f"Bearer {make(runtime, audience)}"}


def _issued(
    *, tenant: str = PARTNER_TENANT, hours: float = 0, **overrides: Any
) -> Callable[[Runtime, str], dict[str, str]]:
    """A dev token issued ``hours`` away from the pinned clock, with claim overrides."""

    def make(runtime: Runtime, audience: str) -> str:
        now = runtime.clock() + timedelta(hours=hours)
        return token(runtime, None, tenant, audience, now=now, **overrides)

    return _auth(make)


CASES: dict[str, Case] = {
    "no header": (lambda s, a: {}, 401, "Access token is empty"),
    "basic scheme": (lambda s, a: {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "Bearer"),
    "bearer without token": (lambda s, a: {"Authorization": "Bearer "}, 401, "empty"),
    "not a jwt": (lambda s, a: {"Authorization": "Bearer not.a.jwt"}, 401, "well-formed"),
    "garbage": (lambda s, a: {"Authorization": "Bearer abc"}, 401, "well-formed"),
    "expired": (_issued(hours=-2), 401, "expired"),
    "not yet valid": (_issued(hours=+1), 401, "not yet valid"),
    "wrong issuer": (
        _issued(iss=f"https://login.microsoftonline.com/{PARTNER_TENANT}/v2.0"),
        401,
        "Invalid issuer",
    ),
    "issuer of another tenant": (
        _issued(iss=f"https://login.billport.local/{OTHER_TENANT}/v2.0"),
        401,
        "Invalid issuer",
    ),
    "no tid": (_issued(tid=None), 401, "tid"),
    "no exp": (_issued(exp=None), 401, "exp"),
    "signed by another key": (_auth(_other_key), 401, "Signature validation failed"),
    "tampered payload": (_auth(_tampered), 401, "Signature validation failed"),
    "unknown kid": (_auth(_unknown_kid), 401, "unknown"),
    "alg none": (_auth(_alg_none), 401, "'none'"),
    "hs256 with public key": (_auth(_hs256_public_key), 401, "'HS256'"),
    "personal account tenant": (
        _issued(tenant=PERSONAL_ACCOUNT_TENANT),
        403,
        "Personal Microsoft accounts",
    ),
    "unknown tenant": (_issued(tenant=OTHER_TENANT), 403, "not a partner tenant"),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("path", "audience"), [(GRAPH, "graph"), (PC, "partner-center")])
def test_refused(client: TestClient, runtime: Runtime, name: str, path: str, audience: str) -> None:
    case = CASES[name]
    response = client.get(path, headers=case[0](runtime, audience))
    assert response.status_code == case[1], response.text
    body = response.json()
    if path == PC:
        assert body["code"] == (800001 if case[1] == 401 else 2032)
        assert body["source"] == "PartnerFD"
        message = body["description"]
    else:
        assert body["error"]["code"] == (
            "InvalidAuthenticationToken" if case[1] == 401 else "Forbidden"
        )
        message = body["error"]["message"]
        if case[1] == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert case[2] in message


@pytest.mark.parametrize(
    ("path", "audience"),
    [(GRAPH, "partner-center"), (PC, "graph")],
    ids=["pc-on-graph", "graph-on-pc"],
)
def test_wrong_audience(client: TestClient, runtime: Runtime, path: str, audience: str) -> None:
    response = client.get(
        path, headers={"Authorization": f"Bearer {token(runtime, None, audience=audience)}"}
    )
    assert response.status_code == 401
    assert "Invalid audience" in response.text


@pytest.mark.parametrize(("path", "audience"), [(GRAPH, "graph"), (PC, "partner-center")])
def test_valid_token(client: TestClient, runtime: Runtime, path: str, audience: str) -> None:
    response = client.get(
        path, headers={"Authorization": f"Bearer {token(runtime, None, audience=audience)}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant"] == PARTNER_TENANT


def test_graph_needs_permission(client: TestClient, runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {token(runtime, None, roles=('User.Read.All',))}"}
    response = client.get(GRAPH, headers=headers)
    assert response.status_code == 403
    assert "PartnerBilling.Read.All" in response.json()["error"]["message"]


def test_partner_center_needs_no_graph_role(client: TestClient, runtime: Runtime) -> None:
    headers = {
        "Authorization": f"Bearer {token(runtime, None, audience='partner-center', roles=())}"
    }
    assert client.get(PC, headers=headers).status_code == 200


def test_delegated_scope_accepted(client: TestClient, runtime: Runtime) -> None:
    issued = token(runtime, None, roles=(), scp="User.Read PartnerBilling.Read.All")
    response = client.get(GRAPH, headers={"Authorization": f"Bearer {issued}"})
    assert response.status_code == 200, response.text


def test_lowercase_bearer_scheme(client: TestClient, runtime: Runtime) -> None:
    response = client.get(GRAPH, headers={"Authorization": f"bearer {token(runtime, None)}"})
    assert response.status_code == 200
