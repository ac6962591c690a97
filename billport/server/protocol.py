"""uvicorn's h11 protocol, answering an over-long request head with 414/431 instead of a reset.

uvicorn answers any ``h11.RemoteProtocolError`` with a plain-text 400 and closes the socket
at once. A client still sending (a 1 MB bearer token, a 100 KB query string) then gets a
TCP reset before it can read even that. This protocol:

- caps the request head at :data:`MAX_REQUEST_HEAD` bytes (uvicorn's h11 default is 16 KiB;
  a 60 KB blob path must still reach the app, which answers it as Azure would);
- answers a head over the cap with 414 URI Too Long (the request line did not end within
  it) or 431 Request Header Fields Too Large, in the envelope of the surface the path
  names (``server.errors``) when the path can be read, else a short JSON body;
- then closes *lingering*: it shuts its side down and discards what the client still
  sends until the client closes or :data:`LINGER_SECONDS` pass, so the answer is read.

Other protocol errors keep uvicorn's own 400. ``billport serve`` and the tests' live
servers pass :func:`protocol_options` to ``uvicorn.Config``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import unquote

import h11
from starlette.requests import Request
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

from billport.server.errors import error_response

MAX_REQUEST_HEAD = 64 * 1024  # bytes of request line and headers together
LINGER_SECONDS = 5.0
log = logging.getLogger("billport.server")

_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_MESSAGES = {
    414: f"The request line is longer than {MAX_REQUEST_HEAD} bytes.",
    431: f"The request headers are larger than {MAX_REQUEST_HEAD} bytes.",
}


def protocol_options() -> dict[str, Any]:
    """What ``uvicorn.Config`` needs to use this protocol with its cap."""
    return {"http": BillportH11Protocol, "h11_max_incomplete_event_size": MAX_REQUEST_HEAD}


def head_status(received: bytes) -> int:
    """414 if the request line did not end within the cap, else 431 (the headers did not)."""
    return 431 if b"\n" in received[:MAX_REQUEST_HEAD] else 414


def request_target(received: bytes) -> tuple[str, str]:
    """``(method, path)`` as far as the (maybe cut) request line tells them."""
    line = received[: min(len(received), MAX_REQUEST_HEAD)].split(b"\n", 1)[0]
    method, _, rest = line.partition(b" ")
    target = rest.split(b" ", 1)[0].split(b"?", 1)[0]
    return method.decode("latin-1")[:16], unquote(target.decode("latin-1"))


def oversized(request: h11.Request) -> int | None:
    """414/431 for a whole head over the cap (h11 caps only a head still incomplete)."""
    line = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n")
    if line > MAX_REQUEST_HEAD:
        return 414
    fields = sum(len(name) + len(value) + 4 for name, value in request.headers.raw_items())
    return 431 if line + fields > MAX_REQUEST_HEAD else None


class BillportH11Protocol(H11Protocol):
    """:class:`H11Protocol` with 414/431 for an over-long head and a lingering close."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._too_large: tuple[int, str, str] | None = None  # (status, method, path)
        parse = self.conn.next_event

        def next_event() -> Any:
            """h11's next event; a head over the cap, cut or whole, is a protocol error."""
            try:
                event = parse()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == 431:  # h11: the incomplete head outgrew the cap
                    received = self.conn.trailing_data[0]
                    self._too_large = (head_status(received), *request_target(received))
                raise
            if isinstance(event, h11.Request) and (status := oversized(event)):
                self._too_large = (status, *request_target(event.method + b" " + event.target))
                raise h11.RemoteProtocolError("request head too large", status)
            return event

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def data_received(self, data: bytes) -> None:
        if self._refused:  # lingering: drain what the client still sends, unread
            return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self._too_large is None:
            super().send_400_response(msg)
            return
        status, method, path = self._too_large
        log.warning(
            "%s %s: request head over %d bytes: %d", method, path[:80], MAX_REQUEST_HEAD, status
        )
        self._send(status, self._body(status, method, path))
        self._linger()

    def _body(self, status: int, method: str, path: str) -> Response:
        """The error in the surface's envelope; a short JSON body if that cannot be built."""
        app = getattr(self.config, "app", None)
        scope: dict[str, Any] = {
            "type": "http",
            "method": method or "GET",
            "path": path or "/",
            "headers": [],
            "query_string": b"",
            "app": app,
            "state": {},
        }
        try:
            return error_response(Request(scope), status, _MESSAGES[status])
        except Exception:  # noqa: BLE001 - an odd path must not cost the answer itself
            log.exception("could not shape a %d for %r", status, path[:80])
            body = json.dumps({"error": {"code": str(status), "message": _MESSAGES[status]}})
            return Response(body, status_code=status, media_type="application/json")

    def _send(self, status: int, response: Response) -> None:
        headers = [
            (name, value)
            for name, value in response.raw_headers
            if name not in {b"content-length", b"connection"}
        ]
        body = bytes(response.body)  # h11 never parsed the request: even a HEAD gets it
        headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        event = h11.Response(status_code=status, headers=headers, reason=_REASONS[status])
        self.transport.write(self.conn.send(event) or b"")
        self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")

    def _linger(self) -> None:
        """Shut our side down, keep reading (and dropping) until the client closes."""
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:  # TLS cannot half-close: close once the answer has been written
            self.transport.close()
            return
        loop = asyncio.get_event_loop()
        loop.call_later(LINGER_SECONDS, self.transport.close)
