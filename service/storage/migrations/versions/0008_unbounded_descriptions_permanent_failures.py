"""Descriptive tracker text stored whole; deliveries that retrying cannot cure are marked permanent

Ticket URLs and issue types, iteration names and tracker URLs are text a tracker writes, not identifiers: a
longer one than the old column allowed was accepted at intake and then failed in the worker on PostgreSQL, on
every retry. They become unbounded text (identifiers keep their bounds; intake refuses longer ones). SQLite does
not enforce VARCHAR lengths, so only PostgreSQL needs the change; there it is a catalogue update, no rewrite.

deliveries.permanent marks a failure of the input rather than of the database: such a delivery is not retried
until someone replays it after a fix.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length before)
_WIDENED = (
    ("tickets", "url", 1000),
    ("tickets", "issue_type", 100),
    ("iterations", "name", 300),
    ("trackers", "url", 500),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, _ in _WIDENED:
            op.alter_column(table, column, type_=sa.Text())
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("permanent", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("permanent")
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in _WIDENED:
            # Values longer than the old bound would not fit again: cut them, as the old columns could hold no more.
            op.execute(sa.text(f"UPDATE {table} SET {column} = left({column}, {length})"))
            op.alter_column(table, column, type_=sa.String(length=length))
