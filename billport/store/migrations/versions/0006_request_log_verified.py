"""request_log.verified: calls that proved no caller are kept in a bucket of their own

Rows logged before this revision are taken as verified (they were labelled as before).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_request_log_verified_id"), ["verified", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_log_verified_id"))
        batch_op.drop_column("verified")
