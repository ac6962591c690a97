"""Certificate login through msal: the client assertion is signed by the certificate's key.

An Entra-ID-shaped issuer on an httpx mock transport serves OpenID discovery and checks the
``client_assertion`` JWT against the registered certificate's public key and thumbprint,
exactly what Entra ID verifies for certificate credentials.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from billport.client import GRAPH_SCOPE, AuthenticationFailed, EntraCredential, HttpClient

AUTHORITY = "https://login.example.test"
TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"
CLIENT_ID = "3f0a1b2c-0000-4000-8000-00000000ce57"
TOKEN_URL = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"


def make_certificate(path: Path) -> x509.Certificate:
    """A self-signed certificate and its key in one PEM file, as `--certificate` takes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "billport test app")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(key_pem + cert.public_bytes(serialization.Encoding.PEM))
    return cert


class Issuer:
    """Discovery plus a token endpoint that trusts one certificate."""

    def __init__(self, trusted: x509.Certificate) -> None:
        self.trusted = trusted
        self.assertions: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "token_endpoint": TOKEN_URL,
                    "authorization_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/authorize",
                    "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
                },
            )
        if request.method == "POST" and str(request.url) == TOKEN_URL:
            return self.token(parse_qs(request.content.decode()))
        return httpx.Response(404, json={"error": "not_found"})

    def token(self, form: dict[str, list[str]]) -> httpx.Response:
        assert form["grant_type"] == ["client_credentials"]
        assert form["scope"][0].split()[0] == GRAPH_SCOPE
        assert form["client_assertion_type"] == [
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ]
        assertion = form["client_assertion"][0]
        header = jwt.get_unverified_header(assertion)
        der = self.trusted.public_bytes(serialization.Encoding.DER)
        thumbprints = {
            "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(),  # noqa: S324
            "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest())
            .rstrip(b"=")
            .decode(),
        }
        if not any(str(header.get(k, "")).rstrip("=") == v for k, v in thumbprints.items()):
            unknown = "AADSTS700027: unknown certificate thumbprint"
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": unknown}
            )
        claims = jwt.decode(
            assertion,
            self.trusted.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            audience=TOKEN_URL,
            issuer=CLIENT_ID,
        )
        assert claims["sub"] == CLIENT_ID
        self.assertions.append(claims)
        return httpx.Response(
            200, json={"access_token": f"tok-{len(self.assertions)}", "expires_in": 3600,
                       "token_type": "Bearer"}
        )  # fmt: skip


def credential(path: Path, issuer: Issuer) -> EntraCredential:
    http = HttpClient(httpx.Client(transport=httpx.MockTransport(issuer)))
    return EntraCredential(TENANT, CLIENT_ID, certificate=path, authority=AUTHORITY, http=http)


def test_a_certificate_signs_the_client_assertion(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    issuer = Issuer(make_certificate(pem))
    entra = credential(pem, issuer)
    assert entra.token(GRAPH_SCOPE) == "tok-1"
    assert entra.token(GRAPH_SCOPE) == "tok-1"  # cached: no second assertion
    assert len(issuer.assertions) == 1


def test_an_unregistered_certificate_is_an_authentication_failure(tmp_path: Path) -> None:
    registered, other = tmp_path / "registered.pem", tmp_path / "other.pem"
    issuer = Issuer(make_certificate(registered))
    make_certificate(other)
    with pytest.raises(AuthenticationFailed, match="invalid_client|AADSTS700027"):
        credential(other, issuer).token(GRAPH_SCOPE)


def test_a_pem_without_a_key_is_refused_before_any_request(tmp_path: Path) -> None:
    pem = tmp_path / "cert-only.pem"
    cert = make_certificate(tmp_path / "full.pem")
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(AuthenticationFailed, match="no PEM private key"):
        credential(pem, Issuer(cert))
