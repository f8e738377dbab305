"""tickets.node_id: GitHub's GraphQL node id, so a Projects iteration change can find its issue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node_id", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_node_id"), ["node_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_node_id"))
        batch_op.drop_column("node_id")
