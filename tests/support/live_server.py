"""A real uvicorn server on 127.0.0.1 in a thread, for clients that need a socket."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from billport.cli.tls import TlsFiles, uvicorn_options
from billport.server.protocol import protocol_options


@contextmanager
def serve_in_thread(
    app: FastAPI,
    timeout: float = 10.0,
    keep_alive: float | None = None,
    tls: TlsFiles | None = None,
) -> Iterator[str]:
    """Start ``app`` on a free loopback port; yields its base URL; stops it on exit.

    ``keep_alive`` is the idle keep-alive timeout (``billport serve`` takes it from the
    settings); ``None`` keeps uvicorn's own default. ``tls`` serves HTTPS with those files
    (``billport.cli.tls.ensure_local_tls``), as ``serve --tls`` does."""
    options: dict[str, Any] = {} if keep_alive is None else {"timeout_keep_alive": keep_alive}
    options.update(uvicorn_options(tls))
    options.update(protocol_options())  # as `billport serve`: 414/431 for an over-long head
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not (server.started and server.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
