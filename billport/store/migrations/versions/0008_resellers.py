"""resellers and markup_rules: a provider's resellers and the prices it re-serves at

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import billport.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resellers",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mpn_id", sa.String(length=20), nullable=False),
        sa.Column("customer_ids", sa.Text(), nullable=False),
        sa.Column("tier2_mpn_ids", sa.Text(), nullable=False),
        sa.Column("created_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["partners.tenant_id"], name=op.f("fk_resellers_tenant_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["partners.tenant_id"],
            name=op.f("fk_resellers_provider_id_partners"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_resellers")),
    )
    op.create_index(op.f("ix_resellers_provider_id"), "resellers", ["provider_id"], unique=False)
    op.create_table(
        "markup_rules",
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", billport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["partners.tenant_id"],
            name=op.f("fk_markup_rules_provider_id_partners"),
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_markup_rules")),
    )


def downgrade() -> None:
    op.drop_table("markup_rules")
    op.drop_index(op.f("ix_resellers_provider_id"), table_name="resellers")
    op.drop_table("resellers")
