"""Console sessions and CSRF checks: signed, expiring, revocable; cross-site refused."""

from __future__ import annotations

import pytest

from billport.server.console.csrf import cross_site_problem, double_submit_ok, origin_of
from billport.server.console.session import SESSION_SECONDS, SessionSigner, token_matches

TOKEN = "t" * 43
NOW = 1_800_000_000.0


def test_a_session_verifies_until_it_expires() -> None:
    signer = SessionSigner(TOKEN)
    session, cookie = signer.issue(NOW)
    assert TOKEN not in cookie
    assert signer.verify(cookie, NOW + 1) == session
    assert signer.verify(cookie, NOW + SESSION_SECONDS) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c.replace(c.split(".")[1], str(int(c.split(".")[1]) + 60)),  # extended
        lambda c: "A" + c,  # another id
        lambda c: c[:-2],  # cut mac
        lambda c: c + ".x",
        lambda c: "",
        lambda c: "a.b.c",
    ],
)
def test_a_tampered_cookie_is_no_session(tamper: object) -> None:
    signer = SessionSigner(TOKEN)
    _, cookie = signer.issue(NOW)
    assert callable(tamper)
    assert signer.verify(tamper(cookie), NOW + 1) is None


def test_another_admin_token_signs_everyone_out() -> None:
    _, cookie = SessionSigner(TOKEN).issue(NOW)
    assert SessionSigner("u" * 43).verify(cookie, NOW + 1) is None
    assert SessionSigner(TOKEN).verify(cookie, NOW + 1) is not None  # replicas agree


def test_revoked_sessions_stay_out() -> None:
    signer = SessionSigner(TOKEN)
    session, cookie = signer.issue(NOW)
    signer.revoke(session)
    assert signer.verify(cookie, NOW + 1) is None


def test_csrf_token_belongs_to_its_session() -> None:
    signer = SessionSigner(TOKEN)
    one, _ = signer.issue(NOW)
    two, _ = signer.issue(NOW)
    assert one.csrf_token != two.csrf_token
    assert signer.csrf_ok(one, one.csrf_token)
    assert not signer.csrf_ok(one, two.csrf_token)
    assert not signer.csrf_ok(one, None)
    assert not signer.csrf_ok(one, "")


def test_admin_token_comparison() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1], TOKEN)
    assert not token_matches("", "")
    assert not token_matches("x", "")


def test_repr_hides_the_key() -> None:
    assert TOKEN not in repr(SessionSigner(TOKEN))


@pytest.mark.parametrize(
    "url, origin",
    [
        ("http://127.0.0.1:8000/_billport", "http://127.0.0.1:8000"),
        ("HTTPS://Billport.Example:443/x", "https://billport.example"),
        ("http://[::1]:80/", "http://[::1]"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "headers, refused",
    [
        ({}, False),
        ({"origin": "http://localhost:8000"}, False),
        ({"sec-fetch-site": "same-origin", "origin": "http://localhost:8000"}, False),
        ({"sec-fetch-site": "none"}, False),
        ({"origin": "http://localhost:8001"}, True),
        ({"origin": "https://localhost:8000"}, True),
        ({"origin": "null"}, True),
        ({"sec-fetch-site": "same-site"}, True),
        ({"sec-fetch-site": "cross-site", "origin": "http://localhost:8000"}, True),
    ],
)
def test_cross_site_problem(headers: dict[str, str], refused: bool) -> None:
    problem = cross_site_problem(headers, "http://localhost:8000")
    assert (problem is not None) is refused


def test_double_submit() -> None:
    assert double_submit_ok("abc", "abc")
    assert not double_submit_ok("abc", "abd")
    assert not double_submit_ok(None, "abc")
    assert not double_submit_ok("", "")
