"""The admission limit: requests beyond it get a 503 + Retry-After in their envelope."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from billport.server.admission import AdmissionMiddleware


def gated_app(limit: int, wait: float = 0.0) -> tuple[Starlette, asyncio.Event, list[str]]:
    """An app whose every route waits for ``release``; ``started`` lists paths that began."""
    release = asyncio.Event()
    started: list[str] = []

    async def slow(request: Request) -> PlainTextResponse:
        started.append(request.url.path)
        await release.wait()
        return PlainTextResponse("done")

    routes = [Route(path, slow) for path in ("/v1/invoices", "/v1.0/x", "/blobs/c/b", "/healthz")]
    app = Starlette(routes=routes)
    app.add_middleware(AdmissionMiddleware, limit=limit, wait_seconds=wait)
    return app, release, started


async def wait_started(started: list[str], count: int) -> None:
    for _ in range(200):
        if len(started) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {started} started")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_requests_beyond_the_limit_are_refused_in_their_envelope() -> None:
    async def scenario() -> dict[str, httpx.Response]:
        app, release, started = gated_app(limit=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            held = [asyncio.create_task(client.get("/v1/invoices")) for _ in range(2)]
            await wait_started(started, 2)
            refused = {
                "pc": await client.get("/v1/invoices"),
                "graph": await client.get("/v1.0/x"),
                "blob": await client.get("/blobs/c/b"),
            }
            release.set()
            assert [(await t).status_code for t in held] == [200, 200]
            refused["after"] = await client.get("/v1/invoices")  # slots are given back
        return refused

    answers = run(scenario())
    for kind in ("pc", "graph", "blob"):
        assert answers[kind].status_code == 503, kind
        assert answers[kind].headers["retry-after"] == "1"
    assert answers["pc"].json()["code"] == 800003
    assert answers["graph"].json()["error"]["code"] == "serviceNotAvailable"
    assert "<Code>ServerBusy</Code>" in answers["blob"].text
    assert answers["after"].status_code == 200


def test_probes_are_never_refused() -> None:
    async def scenario() -> int:
        app, release, started = gated_app(limit=1)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            held = asyncio.create_task(client.get("/v1/invoices"))
            await wait_started(started, 1)
            probe = asyncio.create_task(client.get("/healthz"))
            await wait_started(started, 2)  # admitted although the limit is reached
            release.set()
            await held
            return (await probe).status_code

    assert run(scenario()) == 200


def test_no_limit_admits_everything() -> None:
    async def scenario() -> list[int]:
        app, release, started = gated_app(limit=0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tasks = [asyncio.create_task(client.get("/v1/invoices")) for _ in range(20)]
            await wait_started(started, 20)
            release.set()
            return [(await t).status_code for t in tasks]

    assert run(scenario()) == [200] * 20


def test_a_request_waits_for_a_slot_that_frees_in_time() -> None:
    async def scenario() -> list[int]:
        app, release, started = gated_app(limit=1, wait=5)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/v1/invoices"))
            await wait_started(started, 1)
            waiting = [asyncio.create_task(client.get(f"/v1.0/x?n={n}")) for n in range(3)]
            await asyncio.sleep(0.05)
            assert len(started) == 1  # parked, not running
            release.set()  # every later request runs at once: each frees the next one's slot
            return [(await t).status_code for t in (first, *waiting)]

    assert run(scenario()) == [200, 200, 200, 200]


def test_a_request_that_waits_too_long_is_refused_and_leaks_no_slot() -> None:
    async def scenario() -> tuple[int, float, int]:
        app, release, started = gated_app(limit=1, wait=0.2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/v1/invoices"))
            await wait_started(started, 1)
            begun = asyncio.get_running_loop().time()
            refused = await client.get("/v1/invoices")
            waited = asyncio.get_running_loop().time() - begun
            gone = asyncio.create_task(client.get("/v1/invoices"))  # gives up while waiting
            await asyncio.sleep(0.05)
            gone.cancel()
            release.set()
            await first
            after = await client.get("/v1/invoices")  # the one slot is free again
        return refused.status_code, waited, after.status_code

    status, waited, after = run(scenario())
    assert status == 503
    assert 0.15 < waited < 2
    assert after == 200
