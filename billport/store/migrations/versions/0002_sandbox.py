"""sandbox: scenarios and the request log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billport.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("scope", sa.String(length=36), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("draws", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_scenarios")),
    )
    op.create_table(
        "request_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("delay_ms", sa.Integer(), nullable=False),
        sa.Column("fault", sa.String(length=16), nullable=True),
        sa.Column("retry_after", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_log")),
    )
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_log_client_id"), ["client", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_log_client_id"))
    op.drop_table("request_log")
    op.drop_table("scenarios")
