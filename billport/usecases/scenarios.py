"""Scenario use cases: which scenario applies, and storing scenarios (shared by replicas).

Precedence for a request about tenant T: T's own scenario (``PUT /_billport/tenants/T/
scenario``), else the server-wide one set at run time (``PUT /_billport/scenario``), else
the one from settings (``BILLPORT_SCENARIO`` / ``serve --scenario``), else the empty
scenario. A scenario is taken whole: a tenant's scenario does not inherit keys from the
server-wide one, so what you PUT is exactly what applies.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson

from billport.clock import Clock
from billport.sandbox.scenario import Scenario, parse_scenario
from billport.settings import Settings, configured_scenario
from billport.store import scenarios as scenario_store
from billport.store.caching import PerDatabase
from billport.store.db import Database
from billport.store.scenarios import SERVER_SCOPE

SOURCES = ("tenant", "server", "settings", "default")


@dataclass(frozen=True)
class Applied:
    """A scenario with where it came from; ``scope`` owns the draw counter it uses."""

    scenario: Scenario
    source: str  # tenant | server | settings | default
    scope: str  # tenant id or "*"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "scenario": self.scenario.to_json()}


@functools.lru_cache(maxsize=64)
def _decode(document: str) -> Scenario:
    """Stored documents are already valid; caching spares a parse on every request."""
    return parse_scenario(orjson.loads(document))


# Scenarios are read on every API call; a change through this process applies at once,
# one through another replica within ``settings.scenario_cache_seconds``.
_CACHE: PerDatabase[Applied] = PerDatabase()


def applied_scenario(db: Database, settings: Settings, tenant_id: str | None) -> Applied:
    """The scenario in force for ``tenant_id`` (``None``: a request with no tenant)."""
    return _CACHE.get(
        db,
        _key(tenant_id, settings),
        settings.scenario_cache_seconds,
        lambda: _read_applied(db, settings, tenant_id),
    )


def _key(tenant_id: str | None, settings: Settings) -> tuple[str | None, str]:
    return (tenant_id, settings.scenario)  # the settings' scenario is the last fallback


def cached_scenario(db: Database, settings: Settings, tenant_id: str | None) -> Applied | None:
    """The scenario in force if this process has it cached (no I/O), else ``None``."""
    return _CACHE.peek(db, _key(tenant_id, settings))


def _read_applied(db: Database, settings: Settings, tenant_id: str | None) -> Applied:
    scopes = [SERVER_SCOPE] + ([tenant_id] if tenant_id else [])
    with db.connect() as conn:
        rows = scenario_store.get_scenarios(conn, scopes)
    own = rows.get(tenant_id) if tenant_id else None
    if own is not None and own.document is not None:
        return Applied(_decode(own.document), "tenant", own.scope)
    server = rows.get(SERVER_SCOPE)
    if server is not None and server.document is not None:
        return Applied(_decode(server.document), "server", SERVER_SCOPE)
    configured = configured_scenario(settings.scenario)
    if configured is not None:
        return Applied(configured, "settings", SERVER_SCOPE)
    return Applied(Scenario(), "default", SERVER_SCOPE)


def set_scenario(db: Database, clock: Clock, tenant_id: str | None, raw: Any) -> Scenario:
    """Validate and store a scenario (server-wide when ``tenant_id`` is None); draws restart."""
    scenario = parse_scenario(raw)
    document = orjson.dumps(scenario.to_json()).decode()
    with db.begin() as conn:
        scenario_store.put_scenario(conn, tenant_id or SERVER_SCOPE, document, clock())
    _CACHE.forget(db)
    return scenario


def clear_scenario(db: Database, clock: Clock, tenant_id: str | None) -> int:
    """Forget run-time scenarios: one tenant's, or (``None``) the server-wide one and every
    tenant's, back to the settings. Returns how many tenant scenarios were dropped."""
    try:
        with db.begin() as conn:
            if tenant_id is not None:
                return int(scenario_store.delete_scenario(conn, tenant_id))
            scenario_store.put_scenario(conn, SERVER_SCOPE, None, clock())
            return scenario_store.delete_tenant_scenarios(conn)
    finally:
        _CACHE.forget(db)


def tenants_with_scenarios(db: Database) -> list[str]:
    with db.connect() as conn:
        return scenario_store.list_tenant_scopes(conn)


def next_draw(db: Database, clock: Clock, scope: str) -> int:
    """The next number of ``scope``'s shared, persistent draw sequence."""
    with db.begin() as conn:
        return scenario_store.next_draw(conn, scope, clock())
