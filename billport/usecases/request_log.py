"""Request-log use cases: record a call, list recent calls, and the compliance report."""

from __future__ import annotations

from billport.sandbox.compliance import ClientReport, compliance
from billport.store import request_log
from billport.store.db import Database
from billport.store.request_log import LoggedRequest


def record_request(db: Database, row: LoggedRequest, *, keep: int) -> None:
    """Append one call to the log, keeping about the newest ``keep`` (0: the log is off)."""
    if keep <= 0:
        return
    with db.begin() as conn:
        request_log.insert_request(conn, row, keep=keep)


def recent_requests(
    db: Database, *, limit: int | None = None, client: str | None = None
) -> list[LoggedRequest]:
    """The newest ``limit`` calls (every kept call when ``None``), oldest first."""
    with db.connect() as conn:
        return request_log.recent_requests(conn, limit=limit, client=client)


def compliance_report(db: Database, *, client: str | None = None) -> list[ClientReport]:
    """Per client: did it wait the ``Retry-After`` it was given before calling again?"""
    return compliance(recent_requests(db, client=client))
