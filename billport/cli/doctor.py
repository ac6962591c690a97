"""``billport doctor``: check a target's credentials and APIs, and say what is wrong in words.

For each API (Partner Center, Graph v1.0, Graph beta) it gets a token the way every client
command does, reads its claims (without verifying: the service does that) and checks the
audience, the tenant, the permission (``PartnerBilling.Read.All`` in ``roles`` or ``scp``),
MFA for Partner Center App+User tokens (``amr``, enforced since 2026-04-01), the token's
times against this machine's clock, then calls the API once: ``GET /v1/invoices?size=1`` and
a ``GET`` of an operation that does not exist (404 means reachable and authorised). The
service's ``Date`` header tells this machine's clock skew. Exit 0 when nothing failed, 3 when
a credential or token is wrong, 4 when an API cannot be reached or refuses.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import click

from billport.cli.sync import beta_url
from billport.cli.target import Target, pop_target, target_options
from billport.client.credentials import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
from billport.client.errors import ClientError, error_for

PERMISSION = "PartnerBilling.Read.All"
MAX_SKEW = 300.0  # seconds: Entra and billport accept about this much
# The audiences a token for each API may carry (the resource's URI or its app id).
AUDIENCES = {
    GRAPH_SCOPE: {"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"},
    PARTNER_CENTER_SCOPE: {
        "https://api.partnercenter.microsoft.com",
        "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
    },
}


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | fail
    what: str
    text: str
    auth: bool = False  # a credential problem (exit 3) rather than a service one (exit 4)


def claims_of(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified; None when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def check_claims(
    claims: dict[str, Any], scope: str, what: str, now: datetime, tenant: str | None
) -> list[Finding]:
    """What is wrong with a token's claims for the API of ``scope``, in plain words."""
    found = []
    aud = claims.get("aud")
    if aud not in AUDIENCES[scope]:
        wanted = next(a for a in sorted(AUDIENCES[scope]) if a.startswith("https://"))
        found.append(Finding("fail", what, f"the token is for {aud!r}, not {wanted}", True))
    if tenant and claims.get("tid") and str(claims["tid"]).lower() != tenant.lower():
        text = f"the token is of tenant {claims['tid']}, not {tenant}"
        found.append(Finding("fail", what, text, True))
    delegated = "scp" in claims
    granted = set(claims.get("roles") or []) | set(str(claims.get("scp") or "").split())
    if scope == GRAPH_SCOPE and PERMISSION not in granted:
        where = "scp (delegated)" if delegated else "roles (application permission)"
        found.append(Finding("fail", what, f"{PERMISSION} is not in the token's {where}: "
                             "grant it to the app and give admin consent", True))  # fmt: skip
    if scope == PARTNER_CENTER_SCOPE and delegated and "mfa" not in (claims.get("amr") or []):
        found.append(Finding("fail", what, "an App+User token without MFA (no 'mfa' in amr): "
                             "Partner Center refuses those since 2026-04-01", True))  # fmt: skip
    found += _times(claims, what, now)
    if not found:
        kind = "App+User" if delegated else "app-only"
        found.append(Finding("ok", what, f"{kind} token of tenant {claims.get('tid')}, "
                             f"audience {aud}"))  # fmt: skip
    return found


def _times(claims: dict[str, Any], what: str, now: datetime) -> list[Finding]:
    found = []
    stamp = now.timestamp()
    if isinstance(claims.get("exp"), int | float) and claims["exp"] <= stamp:
        found.append(Finding("fail", what, "the token has expired by this machine's clock", True))
    for key in ("iat", "nbf"):
        value = claims.get(key)
        if isinstance(value, int | float) and value - stamp > MAX_SKEW:
            ahead = f"the token's {key} is {value - stamp:.0f} s ahead of this machine's clock"
            found.append(Finding("fail", what, f"{ahead}: check the clock", True))
    return found


def skew(date_header: str | None, now: datetime) -> Finding | None:
    """This machine's clock against the service's ``Date`` header."""
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    seconds = (now - theirs).total_seconds()
    if abs(seconds) > MAX_SKEW:
        side = "ahead of" if seconds > 0 else "behind"
        return Finding("fail", "clock", f"this machine is {abs(seconds):.0f} s {side} the "
                       "service: tokens will look expired or not yet valid", True)  # fmt: skip
    return Finding("ok", "clock", f"within {abs(seconds):.0f} s of the service")


def probe(
    target: Target, tenant: str | None, scope: str, what: str, path: str, base: str
) -> list[Finding]:
    """Token, claims and one call of one API."""
    now = datetime.now(UTC)
    try:
        token = target.credential.token(scope)
    except ClientError as exc:
        return [Finding("fail", what, f"no token: {exc}", True)]
    claims = claims_of(token)
    found = (
        check_claims(claims, scope, what, now, tenant)
        if claims is not None
        else [Finding("warn", what, "the token is not a JWT: its claims cannot be checked")]
    )
    try:
        response = target.http.request(
            "GET", f"{base}{path}", headers={"Authorization": f"Bearer {token}"}
        )
    except ClientError as exc:
        return [*found, Finding("fail", what, f"cannot reach {base}: {exc}")]
    clock = skew(response.headers.get("Date"), now)
    expected = (200, 404) if "operations" in path else (200,)
    if response.status_code in expected:
        why = " (no such operation: the route answers)" if response.status_code == 404 else ""
        found.append(Finding("ok", what, f"{base} answers HTTP {response.status_code}{why}"))
    else:
        error = error_for(response)
        refused = response.status_code in (401, 403)
        found.append(Finding("fail", what, f"{base}{path}: {error}", refused))
    return [*found, *([clock] if clock is not None else [])]


@click.command()
@target_options
def doctor(**options: Any) -> None:
    """Check the credentials and APIs of a target (billport or --microsoft) in plain words."""
    tenant = options.get("tenant")
    target = pop_target(options)
    missing = f"reports/partners/billing/operations/{uuid.uuid4()}"
    with target:
        findings = probe(target, tenant, PARTNER_CENTER_SCOPE, "Partner Center",
                         "/v1/invoices?size=1", target.partner_center_url)  # fmt: skip
        findings += probe(target, tenant, GRAPH_SCOPE, "Graph", f"/{missing}", target.graph_url)
        beta = beta_url(target.graph_url)
        if beta and beta != target.graph_url:
            findings += probe(target, tenant, GRAPH_SCOPE, "Graph beta", f"/{missing}", beta)
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for finding in dict.fromkeys(findings):  # the clock is checked per API; said once
        click.echo(f"{marks[finding.level]}  {finding.what}: {finding.text}")
    failed = [f for f in findings if f.level == "fail"]
    if failed:
        sys.exit(3 if any(f.auth for f in failed) else 4)
