"""`/api/v1/checkins`: check-in rounds with their prompts (status per person) and answers; the team answers here.

Auditors see groups, channels, statuses and scores, never a name, a contact or an answer's texts.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, g, request
from pydantic import Field
from sqlalchemy import bindparam, func, select

from service import reactions
from service.access import Permission
from service.api.auth import actor, requires
from service.api.bodies import json_body
from service.api.contract import ROW_ID_MAX, ListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import filtered, page
from service.api.shapes import AnswerOut, Page, RoundDetail, RoundOut
from service.api.visible import scope, shown, where
from service.checkins import answers
from service.checkins.answers import AnswerFields, AnswerInvalid
from service.checkins.delivery import status_of
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound, Hypothesis, OutboxItem, Stakeholder

bp = Blueprint("api_checkins", __name__)


class RoundQuery(ListQuery):
    status: Literal["open", "closed"] | None = None
    hypothesis: int | None = Field(default=None, ge=1, le=ROW_ID_MAX)
    iteration: str | None = None


class AnswerRequest(AnswerFields):
    """An answer for a registered stakeholder (`stakeholder_id`) or for a `group`."""

    stakeholder_id: int | None = Field(default=None, ge=1, le=ROW_ID_MAX, strict=True)
    group: str | None = Field(default=None, description="the stakeholder group, when the person is not registered")


SOURCE = "api"
ROUND_STATUSES = ("open", "closed")
# Built once (every answer reads it; a statement object keeps its cache key).
_ROUND_WITH_HYPOTHESIS = (
    select(CheckinRound, Hypothesis)
    .join(Hypothesis, Hypothesis.id == CheckinRound.hypothesis_id)
    .where(CheckinRound.id == bindparam("round"))
)


def _personal() -> bool:
    return g.token_role != "auditor"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _round_summary(row: CheckinRound) -> dict[str, Any]:
    asked = db().scalar(select(func.count()).where(CheckinPrompt.round_id == row.id)) or 0
    answered = (
        db().scalar(
            select(func.count()).where(CheckinPrompt.round_id == row.id, CheckinPrompt.answered_at.is_not(None))
        )
        or 0
    )
    return {
        "id": row.id,
        "hypothesis_id": row.hypothesis_id,
        "iteration": row.iteration_key,
        "kind": row.kind,
        "status": row.status,
        "opened_at": _iso(row.opened_at),
        "remind_at": _iso(row.remind_at),
        "deadline": _iso(row.deadline),
        "closed_at": _iso(row.closed_at),
        "asked": asked,
        "answered": answered,
        "response_rate": row.response_rate if row.status == "closed" else (answered / asked if asked else None),
        "unreachable_groups": list(row.unreachable_groups or []),
    }


def _prompt(prompt: CheckinPrompt, person: Stakeholder | None, outbox: OutboxItem | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": prompt.id,
        "stakeholder_id": prompt.stakeholder_id,
        "group": prompt.group,
        "channel": prompt.channel,
        # delivered, recorded (dry run), pending, undelivered, or `not sent` (a link the product owner hands over)
        "delivery": status_of(outbox),
        "delivery_error": outbox.error if outbox is not None and status_of(outbox) == "undelivered" else None,
        "reminded_at": _iso(prompt.reminded_at),
        "answered_at": _iso(prompt.answered_at),
    }
    if _personal():
        shown["name"] = person.name if person else None
    return shown


def _answer(row: CheckinAnswer) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": row.id,
        "round_id": row.round_id,
        "stakeholder_id": row.stakeholder_id,
        "group": row.group,
        "score": row.score,
        "confidence": row.confidence,
        "dimension": row.dimension,
        "channel": row.channel,
        "current": row.current,
        "late": row.late,
        "created_at": _iso(row.created_at),
    }
    if _personal():  # the texts are personal data: erasable, and not for the auditor's view
        shown.update(text=row.text, evidence_url=row.evidence_url, worse_off=row.worse_off)
    return shown


def _round(round_id: int) -> CheckinRound:
    return _shown_round(db().get(CheckinRound, round_id), round_id)


def _shown_round(row: CheckinRound | None, round_id: int) -> CheckinRound:
    return shown(row, f"no check-in round {round_id}; list them with GET /api/v1/checkins")


@bp.get("/checkins")
@documented(response=Page[RoundOut], query=RoundQuery)
@requires(Permission.READ)
def list_rounds() -> dict[str, Any]:
    """Check-in rounds, oldest first; filter by `status` (open, closed), `hypothesis` and `iteration`."""
    filters = {
        "status": (CheckinRound.status, ROUND_STATUSES),
        "iteration": (CheckinRound.iteration_key, None),
    }
    query = where(filtered(select(CheckinRound), filters), scope().rounds())
    hypothesis = _hypothesis_filter()
    if hypothesis is not None:
        query = query.where(CheckinRound.hypothesis_id == hypothesis)
    return page(query, CheckinRound.id, _round_summary)


def _hypothesis_filter() -> int | None:
    raw = request.args.get("hypothesis")
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ApiError(400, f"hypothesis must be a hypothesis id (a whole number), got {raw[:40]!r}")
    return int(raw)


@bp.get("/checkins/<id:round_id>")
@documented(response=RoundDetail)
@requires(Permission.READ)
def get_round(round_id: int) -> dict[str, Any]:
    """One round with every prompt (channel, delivery, reminded, answered) and its current answers."""
    row = _round(round_id)
    prompts = db().execute(
        select(CheckinPrompt, Stakeholder, OutboxItem)
        .outerjoin(Stakeholder, Stakeholder.id == CheckinPrompt.stakeholder_id)
        .outerjoin(OutboxItem, OutboxItem.id == CheckinPrompt.outbox_id)
        .where(CheckinPrompt.round_id == row.id)
        .order_by(CheckinPrompt.id)
    )
    current = db().scalars(
        select(CheckinAnswer)
        .where(CheckinAnswer.round_id == row.id, CheckinAnswer.current.is_(True))
        .order_by(CheckinAnswer.id)
    )
    return {
        **_round_summary(row),
        "prompts": [_prompt(prompt, person, outbox) for prompt, person, outbox in prompts],
        "answers": [_answer(answer) for answer in current],
    }


@bp.get("/checkins/<id:round_id>/answers")
@documented(response=Page[AnswerOut], query=ListQuery)
@requires(Permission.READ)
def list_answers(round_id: int) -> dict[str, Any]:
    """Every answer of the round, oldest first, replaced ones included (`current` false)."""
    _round(round_id)
    return page(select(CheckinAnswer).where(CheckinAnswer.round_id == round_id), CheckinAnswer.id, _answer)


@bp.post("/checkins/<id:round_id>/answers")
@documented(
    response=AnswerOut,
    body=AnswerRequest,
    status=201,
    errors=(409,),
    example={"group": "citizen", "score": 1, "confidence": "medium", "text": "the form is quicker now"},
)
@requires(Permission.WRITE_ANSWERS)
def add_answer(round_id: int) -> tuple[dict[str, Any], int]:
    """Answer for a stakeholder (`stakeholder_id`) or a group (`group`): `score` -2..+2 and optional `confidence`,
    `dimension`, `text`, `evidence_url`, `worse_off`. The rules run over it at once."""
    # The round with its hypothesis in one read; holding the hypothesis keeps it in the session's identity map, so
    # recording the answer and the rules' facts find it there instead of reading it twice more.
    found = db().execute(_ROUND_WITH_HYPOTHESIS, {"round": round_id}).first()
    # A round outside the token's projects is answered as a missing one (service/api/visible.py).
    row = _shown_round(found[0] if found is not None else None, round_id)
    _hypothesis = found[1] if found is not None else None  # held to the end of the request, not used: see above
    try:
        fields = answers.parse(json_body(), current_taxonomy(), AnswerRequest)  # the model the document declares
    except AnswerInvalid as exc:
        raise ApiError(422, "the answer is not valid; see details", [p.as_dict() for p in exc.problems]) from None
    person = _who(fields.stakeholder_id, fields.group)
    group = person.group if person is not None else _group(fields.group)
    settings = runtime().settings
    recorded = answers.record(
        db(), settings, row, fields, group=group, channel=SOURCE, actor=actor(), stakeholder=person
    )
    reactions.react(db(), [recorded.event], settings=settings, cause=f"checkin-round:{row.id}")
    db().commit()
    return _answer(recorded.answer), 201


def _who(stakeholder_id: int | None, group: str | None) -> Stakeholder | None:
    if stakeholder_id is None:
        if not group:
            raise ApiError(
                422,
                "say whose answer this is: `stakeholder_id`, or the `group` when the person is not registered",
                [{"path": "stakeholder_id", "message": "give stakeholder_id or group"}],
            )
        return None
    person = shown(
        db().get(Stakeholder, stakeholder_id),
        f"no stakeholder {stakeholder_id}; list them with GET /api/v1/stakeholders",
    )
    if person.erased_at is not None:
        raise ApiError(409, f"stakeholder {stakeholder_id} was erased and cannot answer; add the person again")
    return person


def _group(group: Any) -> str:
    taxonomy = current_taxonomy()
    if isinstance(group, str) and group.strip().lower() in taxonomy.groups:
        return group.strip().lower()
    suggestion = taxonomy.suggest_group(group) if isinstance(group, str) else None
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    raise ApiError(
        422,
        "the answer is not valid; see details",
        [
            {
                "path": "group",
                "message": f"unknown stakeholder group {str(group)[:50]!r}; {hint}known: {', '.join(taxonomy.groups)}",
            }
        ],
    )
