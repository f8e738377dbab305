"""api_tokens.scope and api_tokens.expires_at: a token may be limited to some projects and to a period

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both engines: a batch copy of a table on SQLite drops and recreates it, which is not needed
# for adding nullable columns. Existing tokens keep a NULL scope (= every project) and no expiry, as before.


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("scope", sa.JSON(), nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("api_tokens", "scope")
