"""Check-ins: stakeholders' scope and webhook secret, reminders and unreachable groups on rounds, one prompt per
person and round with the outbox rows that deliver it, single-use links, and which answer counts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stakeholders") as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("checkin_rounds") as batch_op:
        batch_op.add_column(sa.Column("remind_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("unreachable_groups", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("checkin_prompts") as batch_op:
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminder_outbox_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("link_used_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            "fk_checkin_prompts_outbox_id_outbox", "outbox", ["outbox_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            "fk_checkin_prompts_reminder_outbox_id_outbox",
            "outbox",
            ["reminder_outbox_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint("uq_checkin_prompts_round_id", ["round_id", "stakeholder_id"])
    with op.batch_alter_table("checkin_answers") as batch_op:
        batch_op.add_column(sa.Column("current", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("checkin_answers") as batch_op:
        batch_op.drop_column("late")
        batch_op.drop_column("current")
    with op.batch_alter_table("checkin_prompts") as batch_op:
        batch_op.drop_constraint("uq_checkin_prompts_round_id", type_="unique")
        batch_op.drop_constraint("fk_checkin_prompts_reminder_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_constraint("fk_checkin_prompts_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_column("link_used_at")
        batch_op.drop_column("reminder_outbox_id")
        batch_op.drop_column("outbox_id")
    with op.batch_alter_table("checkin_rounds") as batch_op:
        batch_op.drop_column("unreachable_groups")
        batch_op.drop_column("remind_at")
    with op.batch_alter_table("stakeholders") as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("scope")
        batch_op.drop_column("webhook_secret")
