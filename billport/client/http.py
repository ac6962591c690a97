"""An ``httpx.Client`` with the retry rules every billing call needs.

Throttling (429), unavailability (502/503/504) and connection errors are retried, honouring
``Retry-After`` (seconds or an HTTP date, capped) and otherwise backing off exponentially
with jitter, a bounded number of times. A refused connection to a server that never answered
this client is not retried: nothing listens there, and waiting would only hide that (once a
server has answered, a refusal is a restart and is retried like any connection error).
Anything else is returned to the caller, which turns errors into
:mod:`billport.client.errors` with :func:`~billport.client.errors.check`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from billport import __version__
from billport.client.errors import ConnectionFailed

USER_AGENT = f"billport-client/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Delays are in seconds."""

    attempts: int = 6  # tries in all, the first included
    backoff: float = 0.5  # the first backoff delay; doubles each retry
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this

    def backoff_delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.max_backoff, self.backoff * 2.0**retry)
        return ceiling / 2 + rng() * ceiling / 2


def retry_after_seconds(
    value: str | None, now: Callable[[], datetime] | None = None
) -> float | None:
    """``Retry-After`` as seconds: an integer/decimal or an HTTP date; None when absent/bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def origin(url: str | httpx.URL) -> str:
    """``scheme://host[:port]`` of ``url``: what a connection is made to."""
    parsed = httpx.URL(url)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


def is_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is a refused connection: nothing listens there."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def connection_failed(
    method: str, url: str, exc: httpx.TransportError, what: str = "no answer"
) -> ConnectionFailed:
    """The error for a request that got no answer: readable, never a Python repr, and
    without the URL's query (it may hold a SAS signature)."""
    where = origin(url)
    if is_refused(exc):
        return ConnectionFailed(
            f"cannot reach {where}: connection refused", url=where, refused=True
        )
    reason = str(exc) or type(exc).__name__
    path = httpx.URL(url).path
    return ConnectionFailed(f"{method} {where}{path}: {what}: {reason}", url=where)


class HttpClient:
    """Retrying requests over one ``httpx.Client`` (pass your own to use a test transport)."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
        if self.client.headers.get("User-Agent", "").startswith("python-httpx/"):
            self.client.headers["User-Agent"] = USER_AGENT
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng
        self.answered: set[str] = set()  # origins that answered: a refusal there is a restart

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, retry: int, response: httpx.Response | None) -> float:
        if response is not None:
            seconds = retry_after_seconds(response.headers.get("Retry-After"))
            if seconds is not None:
                return min(seconds, self.retry.max_retry_after)
        return self.retry.backoff_delay(retry, self.rng)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; the returned response has been read."""
        with self.stream(method, url, headers=headers, **kwargs) as response:
            try:
                response.read()
            except httpx.TransportError as exc:
                raise connection_failed(
                    method, str(response.request.url), exc, "connection lost"
                ) from exc
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Iterator[httpx.Response]:
        """A streamed response, retried until it is not a retryable status or error.

        Only the start of the exchange is retried; an error while reading the body is the
        caller's to handle (downloads resume from where they stopped).
        """
        attempts = max(1, self.retry.attempts)
        for retry in range(attempts):
            last = retry == attempts - 1
            request = self.client.build_request(method, url, headers=headers, **kwargs)
            where = origin(request.url)
            try:
                response = self.client.send(request, stream=True)
            except httpx.TransportError as exc:
                if last or (is_refused(exc) and where not in self.answered):
                    after = f"no answer after {retry + 1} tries" if retry else "no answer"
                    raise connection_failed(method, str(request.url), exc, after) from exc
                self.sleep(self._delay(retry, None))
                continue
            self.answered.add(where)
            if response.status_code in RETRY_STATUSES and not last:
                response.read()
                response.close()
                self.sleep(self._delay(retry, response))
                continue
            try:
                yield response
            finally:
                response.close()
            return
