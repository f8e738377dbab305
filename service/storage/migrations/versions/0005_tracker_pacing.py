"""tracker_pacing: when the next write to each tracker may start (shared by all outbox dispatchers)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracker_pacing",
        sa.Column("tracker", sa.String(length=20), nullable=False),
        sa.Column("next_write_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tracker", name=op.f("pk_tracker_pacing")),
    )


def downgrade() -> None:
    op.drop_table("tracker_pacing")
