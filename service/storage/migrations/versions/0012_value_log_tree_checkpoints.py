"""the value log's Merkle tree (perfect subtrees by level and index) and its signed checkpoints, both append-only
like the log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("value_log_tree", "value_log_checkpoints")
MESSAGE = "is append-only: entries cannot be changed or deleted"


def upgrade() -> None:
    op.create_table(
        "value_log_tree",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_value_log_tree")),
    )
    op.create_table(
        "value_log_checkpoints",
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_value_log_checkpoints")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in NEW_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} {MESSAGE}'); END"
                )
        return
    # One function for every guarded table; the message names the table (for value_log it reads as before).
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION value_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% {MESSAGE}', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    for table in NEW_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION value_log_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION value_log_refuse_change()"
        )


def downgrade() -> None:
    # The tables' triggers go with them.
    op.drop_table("value_log_checkpoints")
    op.drop_table("value_log_tree")
