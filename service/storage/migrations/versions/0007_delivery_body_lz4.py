"""deliveries.body compressed with lz4 on PostgreSQL, where the server has it

A tracker's delivery body (a few KB of JSON) is compressed as it is stored. PostgreSQL's default, pglz, cost
about 120 us of server CPU per delivery against about 50 us for lz4, on every webhook acknowledged; bodies stored
before stay as they are (each value remembers its own method). SQLite stores bodies as they come.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_LZ4 = sa.text(
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)  # no row before PostgreSQL 14; no lz4 in the list when the server was built without it


def _lz4_available() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bool(bind.execute(_HAS_LZ4).scalar())


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE deliveries ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE deliveries ALTER COLUMN body SET COMPRESSION DEFAULT")
