"""iterations.board: the board an iteration belongs to, so "iterations in a row" follow one team's cadence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("iterations") as batch_op:
        batch_op.add_column(sa.Column("board", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iterations") as batch_op:
        batch_op.drop_column("board")
