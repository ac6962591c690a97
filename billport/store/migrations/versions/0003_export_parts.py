"""export plans and independently leased export parts

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billport.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_plans",
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("root_path", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("blob_rows", sa.Integer(), nullable=False),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.operation_id"],
            name=op.f("fk_export_plans_operation_id_operations"),
        ),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_export_plans")),
    )
    op.create_table(
        "export_parts",
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("lo_id", sa.BigInteger(), nullable=False),
        sa.Column("hi_id", sa.BigInteger(), nullable=False),
        sa.Column("first_blob", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column(
            "lease_expires_at", billport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blobs", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["export_plans.operation_id"],
            name=op.f("fk_export_parts_operation_id_export_plans"),
        ),
        sa.PrimaryKeyConstraint("operation_id", "part_index", name=op.f("pk_export_parts")),
    )
    with op.batch_alter_table("export_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_export_parts_status_lease_expires_at"),
            ["status", "lease_expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("export_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_parts_status_lease_expires_at"))
    op.drop_table("export_parts")
    op.drop_table("export_plans")
