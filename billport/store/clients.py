"""Partners and the development issuer's clients.

A client's secret is stored only as a salted hash (``secret_hash``): the plain secret exists
once, in the :class:`Client` that :func:`insert_client` or :func:`rotate_secret` returns, and
is never written to the store. The hash is HMAC-SHA256 keyed by a 16-byte per-client salt:
the secrets billport makes are 256 random bits, out of reach of any guessing, so a slow
password KDF would only slow every token request down; the salt keeps equal secrets from
having equal hashes. The stored text is ``hmac-sha256$<salt hex>$<digest hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from billport.store.tables import clients, partners

GRAPH_ROLE = "PartnerBilling.Read.All"
HASH_SCHEME = "hmac-sha256"
SALT_BYTES = 16


@dataclass(frozen=True)
class Client:
    client_id: str
    tenant_id: str
    display_name: str
    # The plain secret, only on the value insert_client/rotate_secret return; None when read.
    secret: str | None = field(repr=False)
    roles: tuple[str, ...]
    secret_hash: str = field(default="", repr=False)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """The stored form of ``secret``: ``hmac-sha256$<salt hex>$<digest hex>``."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{HASH_SCHEME}${salt.hex()}${digest}"


def secret_matches(stored: str, presented: str) -> bool:
    """Whether ``presented`` is the secret ``stored`` was made from (constant-time compare)."""
    scheme, _, rest = stored.partition("$")
    salt_hex, _, digest = rest.partition("$")
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != HASH_SCHEME or not salt or not digest:
        return False
    # surrogatepass: a lone surrogate in the form still hashes (and fails) instead of raising
    candidate = hmac.new(salt, presented.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return hmac.compare_digest(candidate.hexdigest().encode(), digest.encode())


def new_secret() -> str:
    """A new client secret: 32 bytes from the CSPRNG, as 64 hex digits."""
    return secrets.token_hex(32)


def _client(row: sa.Row) -> Client:  # type: ignore[type-arg]
    roles = tuple(row.roles.split())
    return Client(row.client_id, row.tenant_id, row.display_name, None, roles, row.secret_hash)


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
    """Register a confidential client of the development issuer for ``tenant_id``.

    The returned Client carries the plain secret; the store keeps only its hash."""
    plain = secret or new_secret()
    client = Client(
        client_id=client_id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        display_name=display_name,
        secret=plain,
        roles=roles,
        secret_hash=hash_secret(plain),
    )
    conn.execute(
        clients.insert().values(
            client_id=client.client_id,
            tenant_id=tenant_id,
            display_name=display_name,
            secret_hash=client.secret_hash,
            roles=" ".join(roles),
            created_at=created_at,
        )
    )
    return client


def rotate_secret(conn: sa.Connection, client_id: str) -> Client | None:
    """Give ``client_id`` a new secret (the old one stops working); None for an unknown id."""
    current = get_client(conn, client_id)
    if current is None:
        return None
    plain = new_secret()
    stored = hash_secret(plain)
    conn.execute(
        clients.update().where(clients.c.client_id == client_id).values(secret_hash=stored)
    )
    return Client(
        current.client_id, current.tenant_id, current.display_name, plain, current.roles, stored
    )


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
