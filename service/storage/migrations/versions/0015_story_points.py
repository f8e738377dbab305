"""Story points on tickets, where the tracker has them (Jira's estimate field), for the sprint value summary

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both engines (SQLite has had DROP COLUMN since 3.35): a batch copy of `tickets` on SQLite
# would drop and recreate the table, and its ON DELETE CASCADE children (epics, labels, ...) with it.


def upgrade() -> None:
    op.add_column("tickets", sa.Column("story_points", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("tickets", "story_points")
