"""The ASGI layer that injects the scenario's faults and latency and logs every API call.

Order in the app (outermost first)::

    ConnectionDropper -> ServerErrorMiddleware -> RequestIdMiddleware -> SandboxMiddleware
    -> routes

A dropped connection is a :class:`DropConnection` raised by ``SandboxMiddleware``. It is a
``BaseException`` so Starlette's error middleware (which answers 500 to any ``Exception``)
lets it through; ``ConnectionDropper``, outermost, then closes the socket before uvicorn
can write its own 500, so the client sees the connection end with no response at all.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billport.runtime import Runtime
from billport.sandbox.faults import NO_DRAW, Decision, decide, needs_draw, rng_for
from billport.server.deps import recorder_of
from billport.server.errors import error_response
from billport.server.sandbox_caller import Caller, bearer_token, quick_caller, token_caller
from billport.store.request_log import LoggedRequest
from billport.usecases import scenarios

log = logging.getLogger("billport.sandbox")
_UNVERIFIED_RNG = random.Random()  # not replayable on purpose: see _decide
EXEMPT_PREFIXES = ("/_billport/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc")
FAULT_MESSAGES = {
    "429": ("Too many requests: throttled by the billport sandbox scenario.", 429),
    "503": ("The service is temporarily unavailable (billport sandbox scenario).", 503),
}


class DropConnection(BaseException):
    """Close the client's connection without any response (see the module docstring)."""


def exempt(path: str) -> bool:
    """Admin, health and schema routes never get faults and are not logged."""
    return path.startswith(EXEMPT_PREFIXES) or path == "/_billport"


@dataclass
class _Outcome:
    status: int = 0
    retry_after: int | None = None
    answered: float = 0.0  # perf_counter when the response started
    answered_at: datetime | None = None  # runtime.clock() then: what compliance measures from


def _retry_after(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"retry-after":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class SandboxMiddleware:
    """Applies the scenario of the request's tenant; records the call in the request log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        recorder = recorder_of(scope["app"])
        started = time.perf_counter()
        received_at = runtime.clock()
        caller = quick_caller(runtime, scope)
        if caller is None:  # a token not seen before: its signature is checked in a thread
            caller = await run_in_threadpool(token_caller, runtime, bearer_token(scope) or "")
        tenant = caller.tenant
        decision = _quick_decision(runtime, tenant, scope)
        if decision is None:  # the scenario must be read, or a draw taken: database work
            decision = await run_in_threadpool(_decide, runtime, caller, scope)
        if decision.delay_ms > 0:
            await anyio.sleep(decision.delay_ms / 1000)
        outcome = _Outcome()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                outcome.retry_after = _retry_after(list(message.get("headers", [])))
                outcome.answered = time.perf_counter()
                outcome.answered_at = runtime.clock()
            await send(message)

        def record(status: int) -> None:
            # A 401 proves nothing about who called, even with a well-signed (expired) token.
            verified = caller.verified and status != 401
            row = LoggedRequest(
                id=0,
                client=_label(caller, scope) if verified else _address(scope),
                tenant_id=tenant if verified else None,
                method=scope["method"],
                path=scope["path"],
                status=status,
                received_at=received_at,
                answered_at=outcome.answered_at or runtime.clock(),
                latency_ms=round(((outcome.answered or time.perf_counter()) - started) * 1000),
                delay_ms=round(decision.delay_ms),
                fault=decision.fault,
                retry_after=outcome.retry_after,
                request_id=str(scope.get("state", {}).get("request_id", "")),
                verified=verified,
            )
            recorder.record(row)  # buffered: no database write on the request's path

        if decision.fault == "drop":
            record(0)
            raise DropConnection()
        try:
            target = _fault_app(decision) if decision.fault else self.app
            await target(scope, receive, recording_send)
        except Exception:
            record(outcome.status or 500)
            raise
        record(outcome.status)


def _address(scope: Scope) -> str:
    """An unverified caller's label: its address, never a client id it merely names."""
    return f"address:{(scope.get('client') or ('',))[0] or 'unknown'}"[:200]


def _label(caller: Caller, scope: Scope) -> str:
    """A verified caller's label: its client id; a blob SAS names none, so its address.

    ``client-request-id`` is not used: Graph clients send a new one on every request, so it
    would make each request its own client and hide every early retry.
    """
    return caller.client or _address(scope)


def _quick_decision(runtime: Runtime, tenant: str | None, scope: Scope) -> Decision | None:
    """The verdict without leaving the event loop, when the scenario is cached and injects
    nothing into this request; ``None`` when :func:`_decide` must run in a thread."""
    applied = scenarios.cached_scenario(runtime.db, runtime.settings, tenant)
    if applied is None:
        return None
    scenario = applied.scenario
    if scenario.faults or scenario.latency is not None:
        return None
    scope.setdefault("state", {})["scenario"] = (tenant, applied)
    return Decision()


def _decide(runtime: Runtime, caller: Caller, scope: Scope) -> Decision:
    """The scenario's verdict on one request; a store failure injects nothing.

    Only a verified caller takes a draw of the shared, replayable sequence; an unverified
    one (who gets the server-wide scenario) draws from a generator of this process, so it
    can neither consume nor shift anyone's replay.
    """
    method, path, tenant = scope["method"], scope["path"], caller.tenant
    try:
        applied = scenarios.applied_scenario(runtime.db, runtime.settings, tenant)
        scenario = applied.scenario
        scope.setdefault("state", {})["scenario"] = (tenant, applied)
        if not scenario.faults and scenario.latency is None:
            return Decision()
        if not needs_draw(scenario, method, path):
            rng = rng_for(scenario.seed, NO_DRAW)
        elif caller.verified:
            rng = rng_for(
                scenario.seed, scenarios.next_draw(runtime.db, runtime.clock, applied.scope)
            )
        else:
            rng = _UNVERIFIED_RNG
        # A throttled client is told to wait at least a second, even by a sandbox whose
        # operations say "poll again at once" (Retry-After 0).
        return decide(scenario, method, path, rng, max(runtime.settings.retry_after, 1))
    except Exception:
        log.exception("sandbox: could not apply the scenario; serving without faults")
        return Decision()


def _fault_app(decision: Decision) -> ASGIApp:
    """An ASGI app answering the injected 429/503 in the envelope of the request's surface."""
    message, status = FAULT_MESSAGES[decision.fault or "503"]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = error_response(request, status, message)
        if decision.retry_after is not None:
            response.headers["Retry-After"] = str(decision.retry_after)
        response.headers["x-billport-fault"] = decision.fault or ""
        await response(scope, receive, send)

    return app


class ConnectionDropper:
    """Outermost layer: turns :class:`DropConnection` into a closed socket.

    uvicorn hands the app a bound ``send`` of its request cycle, which owns the socket's
    transport. Closing it makes uvicorn skip its fallback 500 (it sees the client gone).
    Under a server without that transport (e.g. the in-process test client) the drop
    surfaces as :class:`ConnectionAbortedError` instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except DropConnection:
            transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is None or not callable(getattr(transport, "close", None)):
                raise ConnectionAbortedError("billport sandbox dropped the connection") from None
            transport.close()
            await anyio.sleep(0)  # let the loop deliver connection_lost to uvicorn
