"""hypotheses.block_ref: which block in an epic's description a block-origin hypothesis comes from

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hypotheses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_ref", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hypotheses", schema=None) as batch_op:
        batch_op.drop_column("block_ref")
