"""``billport doctor``'s reading of token claims and of the service's clock."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from billport.cli.doctor import check_claims, claims_of, skew
from billport.client.credentials import GRAPH_SCOPE, PARTNER_CENTER_SCOPE

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TENANT = "0e195b37-4574-4539-bc42-0e539b9684c0"


def jwt(claims: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"


def claims(**changes: Any) -> dict[str, Any]:
    stamp = int(NOW.timestamp())
    base = {"aud": "https://graph.microsoft.com", "tid": TENANT, "iat": stamp - 60,
            "exp": stamp + 3000, "roles": ["PartnerBilling.Read.All"]}  # fmt: skip
    return {**base, **changes}


def texts(found: list[Any]) -> list[tuple[str, str]]:
    return [(f.level, f.text) for f in found]


def test_a_good_app_token_is_ok_and_its_claims_read_back() -> None:
    assert claims_of(jwt(claims())) == claims()
    assert claims_of("not-a-jwt") is None
    (finding,) = check_claims(claims(), GRAPH_SCOPE, "Graph", NOW, TENANT)
    assert finding.level == "ok" and "app-only token" in finding.text


def test_each_wrong_claim_is_said_in_words() -> None:
    wrong = claims(aud="https://api.partnercenter.microsoft.com", tid="other", roles=[],
                   iat=int(NOW.timestamp()) + 900)  # fmt: skip
    found = texts(check_claims(wrong, GRAPH_SCOPE, "Graph", NOW, TENANT))
    assert [level for level, _ in found] == ["fail"] * 4
    joined = "\n".join(text for _, text in found)
    assert "not https://graph.microsoft.com" in joined
    assert f"tenant other, not {TENANT}" in joined
    assert "PartnerBilling.Read.All is not in the token's roles" in joined
    assert "iat is 900 s ahead of this machine's clock" in joined
    expired = check_claims(claims(exp=int(NOW.timestamp()) - 1), GRAPH_SCOPE, "Graph", NOW, None)
    assert "expired" in expired[0].text and expired[0].auth


def test_partner_center_app_user_tokens_need_mfa() -> None:
    user = claims(aud="https://api.partnercenter.microsoft.com", scp="user_impersonation",
                  roles=None, amr=["pwd"])  # fmt: skip
    (finding,) = check_claims(user, PARTNER_CENTER_SCOPE, "Partner Center", NOW, None)
    assert finding.level == "fail" and "without MFA" in finding.text
    user["amr"] = ["pwd", "mfa"]
    (finding,) = check_claims(user, PARTNER_CENTER_SCOPE, "Partner Center", NOW, None)
    assert finding.level == "ok" and "App+User" in finding.text


def test_the_clock_is_compared_with_the_services_date() -> None:
    ok = skew("Thu, 03 Dec 2026 12:00:30 GMT", NOW)
    assert ok is not None and ok.level == "ok"
    off = skew("Thu, 03 Dec 2026 11:50:00 GMT", NOW)
    assert off is not None and off.level == "fail" and "600 s ahead of the service" in off.text
    assert skew(None, NOW) is None and skew("garbage", NOW) is None
