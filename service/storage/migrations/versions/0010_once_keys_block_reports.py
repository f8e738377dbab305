"""once_keys and block_reports: "was this already done?" kept in state, backfilled once from the value log

Until now the service answered such questions by reading the value log back: whether a `once_per` rule had fired
for a combination, whether an alert had been raised on an epic, whether a ticket's `ticket.created` had been
recorded, whether a hypothesis had been set to a status with a reason (only its newest 500 entries were read), and
which invalid text of a block was reported last (only the epic's newest 50 reports). The log is for auditors; the
answers now live in two tables written with the log entry, in one transaction.

Existing databases must not do again what they did before the upgrade, so the upgrade derives the same answers from
the log once, here (the only place that reads the log to decide). The shapes of the keys are copied from
service/domain/once.py as they are at this revision: a migration keeps doing what it did when the code moves on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LOG = sa.table(
    "value_log",
    sa.column("seq", sa.Integer()),
    sa.column("at", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("data", sa.JSON()),
)
_EPICS = sa.table("epics", sa.column("key", sa.String()))
_BATCH = 5000  # rows per INSERT while backfilling; bounds memory on a long log
_HYPOTHESIS_CHANGES = ("hypothesis.created", "hypothesis.updated", "hypothesis.retired")
_HYPOTHESIS = "hypothesis:"  # the log subject of a hypothesis is hypothesis:<id>
_READ = ("rule.fired", "value.alert", "ticket.created", "hypothesis.invalid", *_HYPOTHESIS_CHANGES)


def upgrade() -> None:
    op.create_table(
        "block_reports",
        sa.Column("epic_key", sa.String(length=300), nullable=False),
        sa.Column("block_ref", sa.String(length=100), nullable=False),
        sa.Column("block_sha256", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["epic_key"], ["epics.key"], name=op.f("fk_block_reports_epic_key_epics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("epic_key", "block_ref", name=op.f("pk_block_reports")),
    )
    once_keys = op.create_table(
        "once_keys",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_once_keys")),
    )
    block_reports = sa.table(
        "block_reports",
        sa.column("epic_key", sa.String()),
        sa.column("block_ref", sa.String()),
        sa.column("block_sha256", sa.String()),
        sa.column("reported_at", sa.DateTime()),
    )
    _backfill(op.get_bind(), once_keys, block_reports)


def downgrade() -> None:
    op.drop_table("once_keys")
    op.drop_table("block_reports")


def _key(*parts: Any) -> str:
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def _at(text: str) -> datetime:
    # Log times are UTC, RFC 3339 with microseconds; the tables store naive UTC.
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def _keys_of(kind: str, subject: str, data: dict[str, Any]) -> Iterable[str]:
    """The once-keys one old log entry stands for, decided as the code before this revision decided them."""
    if kind == "rule.fired" and data.get("once") is not None:
        yield _key("rule.fired", data.get("rule"), data["once"])
    elif kind == "value.alert":
        yield _key("value.alert", data.get("type"), subject)
        yield _key("value.alert", data.get("type"), subject, data.get("iteration"))
    elif kind == "ticket.created":
        yield _key("ticket.created", subject)
    elif kind in _HYPOTHESIS_CHANGES and subject.startswith(_HYPOTHESIS) and subject[len(_HYPOTHESIS) :].isdigit():
        change = (data.get("changes") or {}).get("status")
        if change:
            status = change.get("new")
        elif "old" in data and data["old"] is None:  # hypothesis.created: its first status
            status = (data.get("new") or {}).get("status")
        else:
            return
        if status is not None:
            yield _key("hypothesis.status", int(subject[len(_HYPOTHESIS) :]), status, data.get("reason"))


def _backfill(conn: sa.Connection, once_keys: sa.Table, block_reports: sa.TableClause) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    pending: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        if pending:
            # A key met in an earlier batch keeps its first (oldest) time.
            conn.execute(dialect.insert(once_keys).on_conflict_do_nothing(), list(pending.values()))
            pending.clear()

    # Newest report per block wins: the log is read in `seq` order and later entries overwrite earlier ones.
    reports: dict[tuple[str, str], dict[str, Any]] = {}
    rows = conn.execute(
        sa.select(_LOG.c.at, _LOG.c.kind, _LOG.c.subject, _LOG.c.data)
        .where(_LOG.c.kind.in_(_READ))
        .order_by(_LOG.c.seq)
        .execution_options(yield_per=_BATCH)
    )
    for at, kind, subject, data in rows:
        data = data if isinstance(data, dict) else {}
        if kind == "hypothesis.invalid":
            if data.get("block") is not None and data.get("block_sha256") is not None:
                reports[(subject, data["block"])] = {
                    "epic_key": subject,
                    "block_ref": data["block"],
                    "block_sha256": data["block_sha256"],
                    "reported_at": _at(at),
                }
            continue
        for key in _keys_of(kind, subject, data):
            digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
            pending.setdefault(digest, {"digest": digest, "key": key, "done_at": _at(at)})
        if len(pending) >= _BATCH:
            flush()
    flush()
    epics = set(conn.scalars(sa.select(_EPICS.c.key)))
    kept = [row for (epic, _), row in reports.items() if epic in epics]
    for start in range(0, len(kept), _BATCH):
        conn.execute(sa.insert(block_reports), kept[start : start + _BATCH])
