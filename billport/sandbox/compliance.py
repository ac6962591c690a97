"""The client-compliance report: did each client wait the ``Retry-After`` it was given? (pure)

For every response that carried ``Retry-After`` (a running operation's poll, a 429, a 503),
the same client's *next* call to the same resource (same method and path: the same
operation, the same export route, the same blob) must arrive at least that many seconds
after the response was sent. A client that never calls the resource again is compliant
(it gave up, or moved on). Times come from the server's clock, so client clocks do not
matter; ``SLACK`` forgives timer granularity, not a missing wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

SLACK_SECONDS = 0.05


class Call(Protocol):
    """What the report needs of one logged call (``store.request_log.LoggedRequest``)."""

    @property
    def id(self) -> int: ...
    @property
    def client(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime: ...
    @property
    def retry_after(self) -> int | None: ...
    @property
    def request_id(self) -> str: ...


def resource(call: Call) -> str:
    """What a ``Retry-After`` is about: the same method on the same path."""
    return f"{call.method} {call.path}"


@dataclass(frozen=True)
class Violation:
    resource: str
    retry_after: int
    waited_seconds: float
    told_at: datetime
    retried_at: datetime
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "retryAfter": self.retry_after,
            "waitedSeconds": round(self.waited_seconds, 3),
            "toldAt": stamp(self.told_at),
            "retriedAt": stamp(self.retried_at),
            "requestId": self.request_id,
        }


@dataclass
class ClientReport:
    client: str
    requests: int = 0
    retry_afters: int = 0
    checked: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "compliant": self.compliant,
            "requests": self.requests,
            "retryAfterGiven": self.retry_afters,
            "retriesChecked": self.checked,
            "violations": [v.to_json() for v in self.violations],
        }


def stamp(moment: datetime) -> str:
    """A server time as the admin API shows it: UTC, milliseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compliance(rows: Iterable[Call]) -> list[ClientReport]:
    """One report per client, in order of the client's first request."""
    reports: dict[str, ClientReport] = {}
    pending: dict[tuple[str, str], Call] = {}
    for row in sorted(rows, key=lambda r: (r.received_at, r.id)):
        report = reports.setdefault(row.client, ClientReport(row.client))
        report.requests += 1
        key = (row.client, resource(row))
        told = pending.pop(key, None)
        if told is not None and told.retry_after is not None:
            report.checked += 1
            waited = (row.received_at - told.answered_at).total_seconds()
            if waited + SLACK_SECONDS < told.retry_after:
                report.violations.append(
                    Violation(
                        resource(told),
                        told.retry_after,
                        waited,
                        told.answered_at,
                        row.received_at,
                        row.request_id,
                    )
                )
        if row.retry_after is not None:
            report.retry_afters += 1
            pending[key] = row
    return list(reports.values())


def report_json(reports: list[ClientReport]) -> dict[str, Any]:
    """The ``GET /_billport/compliance`` body."""
    return {
        "compliant": all(r.compliant for r in reports),
        "slackSeconds": SLACK_SECONDS,
        "clients": [r.to_json() for r in reports],
    }
