"""Backpressure: a server process admits a bounded number of API requests at once.

At most ``BILLPORT_MAX_IN_FLIGHT`` requests are worked on at once. One that arrives when
all slots are taken waits, first come first served, up to ``BILLPORT_ADMISSION_WAIT``
seconds for a slot (parked, costing no CPU); if none frees in time it is answered 503 with
``Retry-After`` in its surface's envelope, instead of queueing behind work it would wait
many seconds for (and its client time out on). The short wait matters under a flood: a
client that retries at once costs the server one cheap refusal per wait, not one per
round trip, so admitted requests keep the CPU. The probes (``/healthz``, ``/readyz``) are
never refused, so a load balancer sees a busy server as alive. A request stays in flight
until its response has been sent, so a long blob download holds its slot.
"""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from billport.server.errors import error_response

PROBES = frozenset({"/healthz", "/readyz"})


class AdmissionMiddleware:
    """Admits up to ``limit`` HTTP requests at once (0: no limit); later ones wait up to
    ``wait_seconds`` for a slot, then are refused."""

    def __init__(self, app: ASGIApp, limit: int, wait_seconds: float = 0.0) -> None:
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.in_flight = 0  # one event loop per process: no lock needed
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            await self._refuse(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _admit(self) -> bool:
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return True
        if self.wait_seconds <= 0:
            return False
        slot = asyncio.get_running_loop().create_future()
        self._waiting.append(slot)
        try:
            await asyncio.wait_for(asyncio.shield(slot), self.wait_seconds)
        except TimeoutError:
            self._give_up(slot)
            return False
        except BaseException:  # the client went away while it waited
            self._give_up(slot)
            raise
        return True  # _release handed its slot over: in_flight already counts us

    def _give_up(self, slot: asyncio.Future[None]) -> None:
        if slot.done() and not slot.cancelled():  # handed over as the wait ended: pass it on
            self._release()
        else:
            slot.cancel()
            self._waiting.remove(slot)

    def _release(self) -> None:
        """Hand the slot to the longest waiter still waiting, or free it."""
        while self._waiting:
            slot = self._waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.in_flight -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = error_response(
            request,
            503,
            f"The server is busy ({self.limit} requests in flight); retry after the "
            "Retry-After interval.",
        )
        response.headers["Retry-After"] = "1"
        await response(scope, receive, send)
