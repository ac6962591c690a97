"""``billport serve``'s listening socket: bound first, so a taken port is a clear error.

uvicorn would find the port taken only after the store is opened and the banner printed,
and then log an ``[Errno 98]`` line and exit 1 like any start-up failure. ``serve`` binds
(and listens on) the address before anything else and hands the socket to uvicorn.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
from typing import Any

from billport.errors import ConfigurationError

PORT_IN_USE = 5  # exit code of `billport serve` on a taken address (docs/cli.md)
STARTUP_FAILURE = 3  # uvicorn's own exit code when the app did not start


class PortInUse(ConfigurationError):
    """The address ``serve`` should listen on is taken by another process."""

    exit_code = PORT_IN_USE


def display(host: str, port: int) -> str:
    """``127.0.0.1:8000``, ``[::1]:8000``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening (``SO_REUSEADDR``, as uvicorn does).

    Raises :class:`PortInUse` when another process holds the address, ConfigurationError
    when it cannot be bound for another reason (no such local address, no permission).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # claim it now: a second SO_REUSEADDR bind succeeds until listen
    except OSError as exc:
        sock.close()
        where = display(host, port)
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"{where} is already in use (another `billport serve`?): stop it, or pass "
                "another --port (BILLPORT_PORT)"
            ) from None
        raise ConfigurationError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve_on(app: Any, sock: socket.socket, **config: Any) -> None:
    """Run ``app`` with uvicorn on ``sock`` until it stops (what ``uvicorn.run`` does)."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **config))
    scheme = "https" if config.get("ssl_certfile") else "http"
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s://%s (Press CTRL+C to quit)", scheme, display(host, port)
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it
        server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)
