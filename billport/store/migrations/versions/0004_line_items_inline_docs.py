"""PostgreSQL: keep line item documents inline and uncompressed

A line item row (~3 KB: the full and the basic document) is over PostgreSQL's default
TOAST threshold (~2 KB), so the server compressed its documents on insert and decompressed
them on every export read — half the server's CPU for a binary COPY of the documents.
With ``toast_tuple_target`` at its maximum, rows up to a page (8,160 bytes) stay inline
and uncompressed; larger rows are still compressed or moved out of line as before.
Existing rows keep their storage until rewritten. SQLite: nothing to do.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INLINE_TARGET = 8160  # the largest value PostgreSQL accepts (BLCKSZ 8192 minus headers)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE line_items SET (toast_tuple_target = {INLINE_TARGET})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE line_items RESET (toast_tuple_target)")
