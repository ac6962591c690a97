"""operations(last_action_at, tenant_id): fair leasing counts each tenant's recent jobs

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_operations_last_action_at_tenant_id"),
        "operations",
        ["last_action_at", "tenant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_operations_last_action_at_tenant_id"), table_name="operations")
