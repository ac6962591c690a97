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
from typing import Any

SLACK_SECONDS = 0.05


@dataclass(frozen=True)
class LoggedRequest:
    """One row of the request log."""

    id: int
    client: str
    tenant_id: str | None
    method: str
    path: str
    status: int
    received_at: datetime
    answered_at: datetime
    latency_ms: int
    delay_ms: int
    fault: str | None
    retry_after: int | None
    request_id: str

    @property
    def resource(self) -> str:
        return f"{self.method} {self.path}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": _stamp(self.received_at),
            "client": self.client,
            "tenantId": self.tenant_id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "latencyMs": self.latency_ms,
            "injectedDelayMs": self.delay_ms,
            "fault": self.fault,
            "retryAfter": self.retry_after,
            "requestId": self.request_id,
        }


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
            "toldAt": _stamp(self.told_at),
            "retriedAt": _stamp(self.retried_at),
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


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compliance(rows: Iterable[LoggedRequest]) -> list[ClientReport]:
    """One report per client, in order of the client's first request."""
    reports: dict[str, ClientReport] = {}
    pending: dict[tuple[str, str], LoggedRequest] = {}
    for row in sorted(rows, key=lambda r: (r.received_at, r.id)):
        report = reports.setdefault(row.client, ClientReport(row.client))
        report.requests += 1
        key = (row.client, row.resource)
        told = pending.pop(key, None)
        if told is not None and told.retry_after is not None:
            report.checked += 1
            waited = (row.received_at - told.answered_at).total_seconds()
            if waited + SLACK_SECONDS < told.retry_after:
                report.violations.append(
                    Violation(
                        told.resource,
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
