"""The API's answers as pydantic models: each `serialise()` shape, declared once for the OpenAPI document."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

Moment = str  # RFC 3339, UTC


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list: pass `next` as `?after=` for the next page (null: the last page)."""

    items: list[T]
    next: int | str | None


class TokenOut(BaseModel):
    name: str
    role: str
    scope: list[str]
    created_at: Moment
    expires_at: Moment | None
    revoked_at: Moment | None
    last_used_at: Moment | None


class TokenCreated(BaseModel):
    name: str
    role: str
    scope: list[str]
    expires_at: Moment | None
    token: str = Field(description="the secret, shown in this answer only")


class LogEntryOut(BaseModel):
    seq: int
    at: Moment
    actor: str
    source: str
    kind: str
    subject: str
    data: Any
    prev_hash: str | None
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head: str | None
    bad_seq: int | None
    reason: str | None


class InclusionProofOut(BaseModel):
    seq: int
    hash: str
    leaf_index: int
    tree_size: int
    root: str
    path: list[str]
    checkpoint: str | None
    log_key: str


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]
    old_checkpoint: str | None
    new_checkpoint: str | None
    log_key: str


class DeliveryOut(BaseModel):
    id: int
    source: str
    delivery_id: str | None
    event: str | None
    action: str | None
    status: str
    attempts: int
    error: str | None
    permanent: bool | None
    received_at: Moment


class DeliveryDetail(DeliveryOut):
    headers: dict[str, Any] | None
    body_sha256: str | None
    body_bytes: int
    next_attempt_at: Moment | None
    processed_at: Moment | None


class LabelOut(BaseModel):
    name: str
    dimension: str | None
    polarity: str | None


class TicketOut(BaseModel):
    key: str
    title: str | None
    state: str | None
    url: str | None
    issue_type: str | None
    epic: str | None
    value_labels: list[LabelOut]
    labels: list[str]


class IterationTicketOut(TicketOut):
    joined_at: Moment | None
    left_at: Moment | None


class EpicOut(BaseModel):
    key: str
    title: str | None
    state: str | None
    url: str | None
    phase: str | None
    closed_at: Moment | None
    children: int


class EpicDetail(EpicOut):
    description: str | None
    tickets: list[TicketOut]


class IterationOut(BaseModel):
    key: str
    source: str
    name: str | None
    state: str | None
    goal: str | None
    start_at: Moment | None
    end_at: Moment | None


class IterationDetail(IterationOut):
    tickets: list[IterationTicketOut]


class HypothesisOut(BaseModel):
    id: int
    epic_key: str
    origin: str
    block: str | None
    statement: str
    dimensions: list[str]
    stakeholders: list[str]
    indicators: list[str]
    measure: dict[str, Any] | None
    owner: str | None
    risks: list[dict[str, Any]]
    trade_offs: list[str]
    phase: str
    status: str
    confidence: str | None
    created_at: Moment | None
    updated_at: Moment | None


class ReadingOut(BaseModel):
    id: int
    hypothesis_id: int
    value: float
    date: str
    source: str | None
    actor: str
    created_at: Moment


class StakeholderOut(BaseModel):
    """Auditors get the id, group, scope and channels only; other roles also the name and contacts."""

    id: int
    group: str
    scope: list[str]
    channels: list[str]
    created_at: Moment | None
    erased_at: Moment | None
    name: str | None = None
    email: str | None = None
    github: str | None = None
    jira: str | None = None
    webhook_url: str | None = None


class StakeholderSaved(StakeholderOut):
    webhook_secret: str | None = Field(default=None, description="a new webhook's signing secret, this answer only")


class StakeholderDetail(StakeholderOut):
    hypotheses: list[int]


class StakeholderErased(StakeholderOut):
    answers_cleared: int


class AssignedOut(StakeholderOut):
    assigned: bool


class AssignedPage(BaseModel):
    items: list[AssignedOut]
    next: None
    unreachable_groups: list[str]


class OutboxOut(BaseModel):
    id: int
    tracker: str
    action: str
    target: str
    body: Any
    status: str
    attempts: int
    error: str | None
    cause: str | None
    external_id: str | None
    created_at: Moment | None
    next_attempt_at: Moment | None
    finished_at: Moment | None


class RoundOut(BaseModel):
    id: int
    hypothesis_id: int | None
    iteration: str | None
    kind: str
    status: str
    opened_at: Moment | None
    remind_at: Moment | None
    deadline: Moment | None
    closed_at: Moment | None
    asked: int
    answered: int
    response_rate: float | None
    unreachable_groups: list[str]


class PromptOut(BaseModel):
    id: int
    stakeholder_id: int | None
    group: str
    channel: str
    delivery: str
    delivery_error: str | None
    reminded_at: Moment | None
    answered_at: Moment | None
    name: str | None = None


class AnswerOut(BaseModel):
    """Auditors do not get `text`, `evidence_url` or `worse_off`."""

    id: int
    round_id: int
    stakeholder_id: int | None
    group: str
    score: int
    confidence: str | None
    dimension: str | None
    channel: str
    current: bool
    late: bool
    created_at: Moment | None
    text: str | None = None
    evidence_url: str | None = None
    worse_off: str | None = None


class RoundDetail(RoundOut):
    prompts: list[PromptOut]
    answers: list[AnswerOut]
