"""An index on ticket_iterations.iteration_key: an iteration's tickets without reading every membership

The primary key (ticket_key, iteration_key) serves a ticket's iterations only; the sprint value summary, its trend
and the iteration API look up an iteration's tickets, which otherwise read every membership ever recorded (the
cost would grow with the history, not with the iteration).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 16:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_ticket_iterations_iteration_key"), "ticket_iterations", ["iteration_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_iterations_iteration_key"), table_name="ticket_iterations")
