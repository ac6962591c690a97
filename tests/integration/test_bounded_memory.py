"""Repeated requests do not grow the server's memory: every in-process cache is bounded.

Each request below differs from the last (a new token, tenant, invoice id or filter), so
a cache keyed by anything a client controls would grow by one entry per request. The
caches' bounds are lowered so that they are reached early; after a warm-up that fills
them, a third round of as many requests must leave the traced memory where the second
left it.
"""

from __future__ import annotations

import gc
import itertools
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from billport.auth import partners, validation
from billport.auth.issuer import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE, issue_token
from billport.runtime import Runtime
from billport.settings import Settings
from billport.usecases import scenarios
from tests.support.exports import MODERN, TENANT, build_dataset
from tests.support.factory import app_client, opened

BOUND = 16
ROUND = 240  # requests per round: well past every lowered bound
GROWTH_LIMIT = 96 * 1024  # bytes: noise (interned strings, allocator slack), not a leak


@pytest.fixture
def served(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Runtime]]:
    monkeypatch.setattr(validation._VerifiedTokens, "SIZE", BOUND)
    monkeypatch.setattr(partners._KNOWN, "size", BOUND)
    monkeypatch.setattr(scenarios._CACHE, "size", BOUND)
    with opened(settings, request_log_size=100) as runtime:
        build_dataset(runtime)
        with app_client(runtime) as client:
            yield client, runtime


def requests(runtime: Runtime) -> Iterator[Callable[[TestClient], Any]]:
    """An endless mix of requests, each with something new in it."""
    for n in itertools.count():
        tenant = TENANT if n % 3 else str(uuid.uuid4())  # unknown tenants too (401)
        audience = PARTNER_CENTER_AUDIENCE if n % 2 else GRAPH_AUDIENCE
        token = issue_token(
            runtime.keys,
            runtime.settings,
            tenant_id=tenant,
            client_id=f"client-{n}",
            audience=audience,
            extra_claims={"n": n},  # a new token text every time
        )
        headers = {"Authorization": f"Bearer {token}"}
        day = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}"
        filter_text = f'{{"Field":"InvoiceDate","Value":"{day}","Operator":"greater_than"}}'
        yield lambda c, h=headers, n=n: c.get(f"/v1/invoices/G{n:09d}", headers=h)
        yield lambda c, h=headers, f=filter_text: c.get(
            "/v1/invoices", params={"filter": f}, headers=h
        )
        yield lambda c, h=headers: c.get(
            f"/v1.0/reports/partners/billing/operations/{uuid.uuid4()}", headers=h
        )
        yield lambda c, h=headers: c.get(f"/v1/invoices/{MODERN}", headers=h)


def send_all(client: TestClient, mix: Iterator[Callable[[TestClient], Any]], count: int) -> None:
    for send in itertools.islice(mix, count):
        assert send(client).status_code < 500


@pytest.mark.slow
def test_repeated_requests_do_not_grow_memory(served: tuple[TestClient, Runtime]) -> None:
    client, runtime = served
    if runtime.db.dialect != "sqlite":
        pytest.skip("the caches are the same on every database; once is enough")
    mix = requests(runtime)
    send_all(client, mix, ROUND)  # fills every cache to its bound
    tracemalloc.start()
    try:
        # What round 2 allocated and kept is the caches' new entries (old ones replaced);
        # round 3 replaces those in turn, so bounded caches keep the total where it was.
        kept = [traced_after(client, mix, ROUND) for _ in range(2)]
    finally:
        tracemalloc.stop()
    assert kept[1] - kept[0] < GROWTH_LIMIT, f"{kept}: grew over {ROUND} requests"
    assert len(validation.verified_tokens(runtime.keys)) <= BOUND


def traced_after(client: TestClient, mix: Iterator[Callable[[TestClient], Any]], count: int) -> int:
    send_all(client, mix, count)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]
