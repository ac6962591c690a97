"""A ``Retry-After`` is for everyone: one 429 holds every thread's next call to that path.

The client's retry policy makes the thread that was told wait; a sync runs several exports
at once, and the others would keep calling the same action (``POST …/billed/export``) while
the service asked for quiet. :class:`Throttle` hooks into the shared ``httpx.Client``: a 429
or 503 with ``Retry-After`` on ``METHOD path`` closes that path until the time has passed,
and every request to it waits for the gate first. Other paths (blobs, other operations)
are not held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from billport.client.http import retry_after_seconds

MAX_HOLD = 120.0  # seconds: as the client's RetryPolicy.max_retry_after


class Throttle:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: httpx.Request) -> str:
        return f"{request.method} {request.url.path}"

    def before(self, request: httpx.Request) -> None:
        """Wait until ``request``'s path may be called again."""
        with self._lock:
            until = self._until.get(self.key(request), 0.0)
        wait = until - self.clock()
        if wait > 0:
            self.sleep(wait)

    def after(self, response: httpx.Response) -> None:
        """Close the path of a throttled answer for its ``Retry-After``."""
        if response.status_code not in (429, 503):
            return
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        if not seconds:
            return
        key = self.key(response.request)
        until = self.clock() + min(seconds, MAX_HOLD)
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), until)

    def install(self, client: httpx.Client) -> None:
        """Hook into ``client`` (once: installing twice keeps the first)."""
        hooks = client.event_hooks
        if any(isinstance(getattr(h, "__self__", None), Throttle) for h in hooks["request"]):
            return
        client.event_hooks = {
            "request": [*hooks["request"], self.before],
            "response": [*hooks["response"], self.after],
        }
