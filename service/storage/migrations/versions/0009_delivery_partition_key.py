"""deliveries.partition_key: the deliveries of one subject are processed one at a time, in order of receipt

Intake stores the subject of a delivery's first domain event (the ticket, epic or iteration it changes); workers
claim a delivery only when no earlier delivery of that subject is unfinished and none is being processed. Two
workers no longer insert the same ticket at once, nor apply one ticket's events out of order. The partial index
holds only unfinished deliveries, so that check stays a short lookup however long the history grows. Deliveries
stored before have no key and are claimed as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in the model: the statuses of unfinished deliveries, in the order the claim names them.
_UNFINISHED = "status IN ('pending', 'failed', 'processing')"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("partition_key", sa.String(length=300), nullable=True))
    op.create_index(
        "ix_deliveries_unfinished_partition_key",
        "deliveries",
        ["partition_key", "id"],
        postgresql_where=sa.text(_UNFINISHED),
        sqlite_where=sa.text(_UNFINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_unfinished_partition_key", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("partition_key")
