"""value log is append-only: database triggers refuse UPDATE and DELETE on both engines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "value_log is append-only: entries cannot be changed or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER value_log_no_{verb.lower()} BEFORE {verb} ON value_log "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    op.execute(
        f"""
        CREATE FUNCTION value_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER value_log_no_update_delete BEFORE UPDATE OR DELETE ON value_log "
        "FOR EACH ROW EXECUTE FUNCTION value_log_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER value_log_no_truncate BEFORE TRUNCATE ON value_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION value_log_refuse_change()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS value_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS value_log_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS value_log_no_truncate ON value_log")
    op.execute("DROP TRIGGER IF EXISTS value_log_no_update_delete ON value_log")
    op.execute("DROP FUNCTION IF EXISTS value_log_refuse_change()")
