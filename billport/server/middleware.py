"""Request ids and correlation headers on every response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billport.server.request_ids import new_request_id


class RequestIdMiddleware:
    """Sets ``request.state.request_id``; adds Partner Center and Graph tracing headers.

    Partner Center: ``MS-RequestId`` (the client's, or a new one) and ``MS-CorrelationId``
    echoed. Graph: ``request-id`` and ``client-request-id`` echoed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        extra: list[tuple[bytes, bytes]] = []
        if scope["path"].startswith("/v1/"):
            extra.append((b"ms-requestid", headers.get("ms-requestid", rid).encode("latin-1")))
            correlation = headers.get("ms-correlationid") or new_request_id()
            extra.append((b"ms-correlationid", correlation.encode("latin-1")))
        else:
            extra.append((b"request-id", rid.encode()))
            client_rid = headers.get("client-request-id")
            if client_rid:
                extra.append((b"client-request-id", client_rid.encode("latin-1")))

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_ids)
