"""Partners and the development issuer's clients."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from billport.store.tables import clients, partners

GRAPH_ROLE = "PartnerBilling.Read.All"


@dataclass(frozen=True)
class Client:
    client_id: str
    tenant_id: str
    display_name: str
    secret: str = field(repr=False)
    roles: tuple[str, ...]


def _client(row: sa.Row) -> Client:  # type: ignore[type-arg]
    return Client(
        row.client_id, row.tenant_id, row.display_name, row.secret, tuple(row.roles.split())
    )


def insert_client(
    conn: sa.Connection,
    *,
    tenant_id: str,
    display_name: str,
    created_at: datetime,
    roles: tuple[str, ...] = (GRAPH_ROLE,),
    client_id: str | None = None,
    secret: str | None = None,
) -> Client:
    """Register a confidential client of the development issuer for ``tenant_id``."""
    client = Client(
        client_id=client_id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        display_name=display_name,
        secret=secret or secrets.token_urlsafe(32),
        roles=roles,
    )
    conn.execute(
        clients.insert().values(
            client_id=client.client_id,
            tenant_id=tenant_id,
            display_name=display_name,
            secret=client.secret,
            roles=" ".join(roles),
            created_at=created_at,
        )
    )
    return client


def get_client(conn: sa.Connection, client_id: str) -> Client | None:
    row = conn.execute(sa.select(clients).where(clients.c.client_id == client_id)).first()
    return _client(row) if row else None


def clients_of_tenant(conn: sa.Connection, tenant_id: str) -> list[Client]:
    rows = conn.execute(
        sa.select(clients).where(clients.c.tenant_id == tenant_id).order_by(clients.c.created_at)
    )
    return [_client(r) for r in rows]


def default_tenant_id(conn: sa.Connection) -> str | None:
    """The default partner tenant (the demo's), else the oldest one."""
    row = conn.execute(
        sa.select(partners.c.tenant_id).order_by(
            partners.c.is_default.desc(), partners.c.created_at, partners.c.tenant_id
        )
    ).first()
    return row.tenant_id if row else None


def partner_exists(conn: sa.Connection, tenant_id: str) -> bool:
    query = sa.select(partners.c.tenant_id).where(partners.c.tenant_id == tenant_id)
    return conn.execute(query).first() is not None
