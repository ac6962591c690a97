"""Backpressure: a server process admits a bounded number of API requests at once.

Beyond ``BILLPORT_MAX_IN_FLIGHT`` requests in flight, a new one is answered at once with
503 and ``Retry-After`` in its surface's envelope, instead of queueing behind work it
would wait seconds for (and a client timing out on). The probes (``/healthz``,
``/readyz``) are never refused, so a load balancer sees a busy server as alive. A request
stays in flight until its response has been sent, so a long blob download holds its slot.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from billport.server.errors import error_response

PROBES = frozenset({"/healthz", "/readyz"})


class AdmissionMiddleware:
    """Counts the HTTP requests in flight and refuses those beyond ``limit`` (0: no limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
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
