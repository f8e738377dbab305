"""SQLAlchemy models: the whole domain schema (DESIGN.md), one table per noun."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

from service.domain import limits

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- intake ------------------------------------------------------------------------------------------


# The statuses of the work queue's unfinished inbox rows, in its order (service/workqueue.py `unfinished`): the
# claim names them as constants, so PostgreSQL and SQLite can prove this index's condition from the query's.
UNFINISHED_DELIVERIES = "status IN ('pending', 'failed', 'processing')"


class Delivery(Base):
    """One webhook delivery (or clock event) as received: the inbox row, stored before it is acknowledged."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))
    delivery_id: Mapped[str] = mapped_column(String(limits.DELIVERY_ID))
    event: Mapped[str] = mapped_column(String(limits.EVENT_NAME))
    action: Mapped[str | None] = mapped_column(String(limits.EVENT_NAME))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The last failure is one that retrying cannot cure (the input, not the database): not retried until replayed.
    permanent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The subject of the delivery's first domain event (a ticket, epic or iteration key): deliveries with the same
    # key are processed one at a time, in order of receipt (service/workqueue.py). NULL: no order to keep.
    partition_key: Mapped[str | None] = mapped_column(String(limits.KEY))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_delivery_id"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # Only unfinished rows: the claim asks "is an earlier delivery of this key unfinished?" for each candidate,
        # and finished rows (nearly all of them, kept for the record) would make that lookup grow with history.
        Index(
            "ix_deliveries_unfinished_partition_key",
            "partition_key",
            "id",
            postgresql_where=text(UNFINISHED_DELIVERIES),
            sqlite_where=text(UNFINISHED_DELIVERIES),
        ),
    )


class Tracker(Base):
    """A tracker instance the service has heard from (a GitHub org/repo owner, a Jira site, a GitLab host)."""

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(limits.SOURCE))
    name: Mapped[str] = mapped_column(String(limits.KEY))
    url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "name", name="uq_trackers_kind_name"),)


# --- work ---------------------------------------------------------------------------------------------


class Ticket(Base):
    """An issue in a tracker, keyed tracker-qualified: `jira:PROJ-12`, `github:owner/repo#34`."""

    __tablename__ = "tickets"

    key: Mapped[str] = mapped_column(String(limits.KEY), primary_key=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    issue_type: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")
    url: Mapped[str | None] = mapped_column(Text)
    is_epic: Mapped[bool] = mapped_column(Boolean, default=False)
    epic_key: Mapped[str | None] = mapped_column(String(limits.KEY), index=True)
    story_points: Mapped[float | None] = mapped_column(Float)  # the tracker's estimate, where it has one (Jira)
    # GitHub's GraphQL node id: Projects (v2) webhooks name an issue only by it.
    node_id: Mapped[str | None] = mapped_column(String(limits.NODE_ID), index=True)
    # The tracker's own clock for this ticket; an older event never overwrites newer state.
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    labels: Mapped[list[Label]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="Label.name"
    )


class Epic(Base):
    """Value-specific state of an epic ticket: its phase in the ex-ante / during / ex-post cycle."""

    __tablename__ = "epics"

    key: Mapped[str] = mapped_column(ForeignKey("tickets.key", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(20), default="ex-ante")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()


class Label(Base):
    """A label on a ticket; value labels carry the dimension slug and polarity they name."""

    __tablename__ = "labels"

    ticket_key: Mapped[str] = mapped_column(ForeignKey("tickets.key", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.LABEL), primary_key=True)
    dimension: Mapped[str | None] = mapped_column(String(100), index=True)
    polarity: Mapped[str | None] = mapped_column(String(20))  # "value" | "value-risk" | None
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="labels")


class Iteration(Base):
    """A sprint, milestone or Projects iteration: `jira:sprint/37`, `github:owner/repo/milestone/3`."""

    __tablename__ = "iterations"

    key: Mapped[str] = mapped_column(String(limits.KEY), primary_key=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))
    name: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="future")  # future | active | closed | deleted
    goal: Mapped[str | None] = mapped_column(Text)
    # The board (Jira) the iteration belongs to, when the tracker says; "iterations in a row" follow one board.
    board: Mapped[str | None] = mapped_column(String(limits.BOARD))
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketIteration(Base):
    """Membership of a ticket in an iteration, kept after it leaves so summaries can look back."""

    __tablename__ = "ticket_iterations"

    ticket_key: Mapped[str] = mapped_column(ForeignKey("tickets.key", ondelete="CASCADE"), primary_key=True)
    iteration_key: Mapped[str] = mapped_column(
        ForeignKey("iterations.key", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- value ---------------------------------------------------------------------------------------------


class Hypothesis(Base):
    """A value hypothesis on an epic (DESIGN.md); the block's keys are these field names."""

    __tablename__ = "hypotheses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epic_key: Mapped[str] = mapped_column(ForeignKey("epics.key", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(20), default="api")  # "api" | "block" | "ui"
    statement: Mapped[str] = mapped_column(Text)
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    stakeholders: Mapped[list[str]] = mapped_column(JSON, default=list)
    indicators: Mapped[list[str]] = mapped_column(JSON, default=list)
    measure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(200))
    risks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    trade_offs: Mapped[list[str]] = mapped_column(JSON, default=list)
    phase: Mapped[str] = mapped_column(String(20), default="ex-ante")
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    confidence: Mapped[str | None] = mapped_column(String(20))
    # Block-origin only: `id:<id>` or `pos:<n>` names the block it comes from (service/hypotheses/blocks.py), and
    # block_sha256 is the hash of that block's text as last seen, so an unchanged block is not parsed again.
    block_ref: Mapped[str | None] = mapped_column(String(100))
    block_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BlockReport(Base):
    """The text of a value-hypothesis block last reported invalid, per epic and block (`id:<id>` or `pos:<n>`).

    A description re-sent unchanged (a label change re-sends it) must not report the same errors again; this row,
    written with the `hypothesis.invalid` entry, says what was reported last.
    """

    __tablename__ = "block_reports"

    epic_key: Mapped[str] = mapped_column(ForeignKey("epics.key", ondelete="CASCADE"), primary_key=True)
    block_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    block_sha256: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reading(Base):
    """One observation of a hypothesis's measure (value, date, source)."""

    __tablename__ = "hypothesis_readings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypothesis_id: Mapped[int] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    value: Mapped[float] = mapped_column(Float)
    date: Mapped[date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Stakeholder(Base):
    """A person or body asked for check-ins; citizens need no tracker account."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(320))
    github: Mapped[str | None] = mapped_column(String(100))
    jira: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    # The Standard Webhooks signing secret of webhook_url, encrypted with a key derived from PVM_SECRET_KEY.
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    # The trackers or projects followed (`github:owner/repo`, `github:owner`, `jira:PRM`); empty = all.
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HypothesisStakeholder(Base):
    __tablename__ = "hypothesis_stakeholders"

    hypothesis_id: Mapped[int] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckinRound(Base):
    """A round of stakeholder check-ins for one hypothesis in one iteration (or ex post, at epic close)."""

    __tablename__ = "checkin_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypothesis_id: Mapped[int] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"), index=True)
    iteration_key: Mapped[str | None] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="iteration")  # iteration | ex-post
    # Scheduled and rule-driven openings are idempotent on this key.
    unique_key: Mapped[str] = mapped_column(String(400), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the unanswered are reminded, once
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_rate: Mapped[float | None] = mapped_column(Float)
    # Groups the hypothesis names that had nobody to ask in this round (so a summary can say who was not asked).
    unreachable_groups: Mapped[list[str]] = mapped_column(JSON, default=list)


class CheckinPrompt(Base):
    """One prompt sent to one stakeholder through one channel; the nonce makes its link single-use."""

    __tablename__ = "checkin_prompts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("checkin_rounds.id", ondelete="CASCADE"), index=True)
    stakeholder_id: Mapped[int | None] = mapped_column(ForeignKey("stakeholders.id", ondelete="SET NULL"))
    group: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(20))  # tracker | email | webhook | link
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    # The outbox rows that deliver the prompt and its reminder: their status says whether it reached the person.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    reminder_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the link answers once

    __table_args__ = (UniqueConstraint("round_id", "stakeholder_id", name="uq_checkin_prompts_round_id"),)


class CheckinAnswer(Base):
    """An answer: a score from -2 (value destroyed) to +2 (value clearly created) and who is worse off."""

    __tablename__ = "checkin_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("checkin_rounds.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_prompts.id", ondelete="SET NULL"))
    stakeholder_id: Mapped[int | None] = mapped_column(ForeignKey("stakeholders.id", ondelete="SET NULL"))
    group: Mapped[str] = mapped_column(String(50))
    dimension: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(1000))
    worse_off: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20), default="api")
    actor: Mapped[str] = mapped_column(String(200))
    # The person's latest answer in the round counts; an earlier one stays for the record, not for the figures.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # given after the round closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- outbound -------------------------------------------------------------------------------------------


class OutboxItem(Base):
    """An action on a tracker (or email, or outbound webhook), written in the transaction that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracker: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    # Set once a request may have reached the tracker, so a retry looks for the marker before re-posting.
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)


class TrackerPacing(Base):
    """When the next write to a tracker may start: one write at a time, a second apart, rate limits honoured.

    Shared by every worker process, so the pace holds however many workers run.
    """

    __tablename__ = "tracker_pacing"

    tracker: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_write_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


# --- access and audit -----------------------------------------------------------------------------------


class ApiToken(Base):
    """An API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Project keys as stakeholders' scopes name them (`github:owner/repo`, `jira:PRM`); NULL or empty = every project.
    scope: Mapped[list[str] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClockRun(Base):
    """One run of a scheduled job, unique by key, so a second clock or a re-run cannot double-fire."""

    __tablename__ = "clock_runs"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OnceKey(Base):
    """Something done once, by its once-key (service/domain/once.py): a `once_per` rule fired for a combination, an
    alert raised, a ticket seen, a hypothesis status set.

    "Was it done already?" is asked here, never of the value log. A key is written in the transaction that writes
    the matching log entry, so both exist or neither does.
    """

    __tablename__ = "once_keys"

    # SHA-256 of `key`: keys hold tracker keys and free text (a status reason), too long for a unique index.
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ValueLogEntry(Base):
    """The append-only, hash-chained value log. `canonical` holds the exact bytes that were hashed."""

    __tablename__ = "value_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(limits.ACTOR), index=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))
    kind: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(limits.KEY), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    canonical: Mapped[bytes] = mapped_column(LargeBinary)


class ValueLogNode(Base):
    """A perfect subtree of the RFC 9162 Merkle tree over the value log: (level, index) covers the 2**level entries
    from seq index * 2**level + 1 on; level 0 holds each entry's leaf hash. Filled when a checkpoint is signed, so a
    root or a proof reads O(log n) rows; append-only like the log (the same triggers)."""

    __tablename__ = "value_log_tree"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class ValueLogCheckpoint(Base):
    """A signed checkpoint (C2SP signed note: origin, size, root) as it was issued; append-only."""

    __tablename__ = "value_log_checkpoints"

    size: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
