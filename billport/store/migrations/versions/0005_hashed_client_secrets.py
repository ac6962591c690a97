"""clients keep a salted hash of their secret, never the secret

Each existing plain ``secret`` is hashed into ``secret_hash`` (the format of
``billport.store.clients.hash_secret``, copied here so this revision stays what it was when
written), then the ``secret`` column is dropped: existing secrets keep working. On SQLite
the pages that held them are zeroed (``secure_delete``); on PostgreSQL the old row versions
stay in the table's files until it is vacuumed.
Downgrading cannot bring a secret back from its hash: each client gets a new random secret
nobody knows, so rotate it (``billport clients rotate``) after a downgrade.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _hash(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac-sha256${salt.hex()}${digest}"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # zero the pages the plain secrets leave behind
        op.execute("PRAGMA secure_delete = ON")
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("secret_hash", sa.String(length=160), nullable=True))
    table = sa.table(
        "clients",
        sa.column("client_id", sa.String),
        sa.column("secret", sa.String),
        sa.column("secret_hash", sa.String),
    )
    conn = op.get_bind()
    for client_id, secret in conn.execute(sa.select(table.c.client_id, table.c.secret)).all():
        conn.execute(
            table.update().where(table.c.client_id == client_id).values(secret_hash=_hash(secret))
        )
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("secret_hash", existing_type=sa.String(length=160), nullable=False)
        batch.drop_column("secret")


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("secret", sa.String(length=128), nullable=True))
    table = sa.table("clients", sa.column("client_id", sa.String), sa.column("secret", sa.String))
    conn = op.get_bind()
    for (client_id,) in conn.execute(sa.select(table.c.client_id)).all():
        unknown = secrets.token_hex(32)  # the hash cannot be reversed
        conn.execute(table.update().where(table.c.client_id == client_id).values(secret=unknown))
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=128), nullable=False)
        batch.drop_column("secret_hash")
