"""Answers to check-ins, from every channel (the form behind a link, the API, a `/value` tracker comment): one write.

An answer is a score from -2 (value destroyed) to +2 (value clearly created) with optional confidence, dimension,
free text, evidence link and "who is worse off or not represented?". A person's later answer in the same round
replaces the earlier one in the figures; both stay in the value log, which holds keyed commitments to the texts,
never the texts (they stay erasable). Each answer is a `checkin.answered` event for the rules, in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar, cast, overload

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from service import sealing, valuelog
from service.config import Settings
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import CheckinChange
from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import Problem
from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound, Hypothesis, Stakeholder, UTCDateTime

SCORES = {
    -2: "value destroyed",
    -1: "some value lost",
    0: "no difference",
    1: "some value created",
    2: "value clearly created",
}
CONFIDENCES = ("low", "medium", "high")
_ANSWERS = cast(Table, CheckinAnswer.__table__)
_PROMPTS = cast(Table, CheckinPrompt.__table__)
# The statements on every answer's path, built once: a statement object also keeps its cache key, so each answer
# skips building the statement and computing its key.
_RETIRE = (
    update(_ANSWERS)
    .where(
        _ANSWERS.c.round_id == bindparam("round"),
        _ANSWERS.c.stakeholder_id == bindparam("person"),
        _ANSWERS.c.current.is_(True),
    )
    .values(current=False)
    .returning(_ANSWERS.c.id)
)
# The person's prompt in the round, marked answered the first time: one statement finds and marks it (a round asks
# a person once: unique on round and stakeholder).
_MARK_PROMPT = (
    update(_PROMPTS)
    .where(_PROMPTS.c.round_id == bindparam("round"), _PROMPTS.c.stakeholder_id == bindparam("person"))
    .values(answered_at=func.coalesce(_PROMPTS.c.answered_at, bindparam("moment", type_=UTCDateTime())))
    .returning(_PROMPTS.c.id)
)
_INSERT_ANSWER = insert(_ANSWERS).returning(_ANSWERS.c.id)


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _whole_score(value: Any) -> Any:
    # "+1" from a form or a comment is 1; 1.5 or true are not scores.
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return value


Text = Annotated[Annotated[str, StringConstraints(max_length=5000)] | None, BeforeValidator(_blank_is_none)]
HttpUrl = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=r"^https?://\S+$")] | None,
    BeforeValidator(_blank_is_none),
]


class AnswerFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: Annotated[int, BeforeValidator(_whole_score), Field(ge=-2, le=2, strict=True)]
    confidence: Annotated[Literal["low", "medium", "high"] | None, BeforeValidator(_blank_is_none)] = None
    dimension: Annotated[str | None, BeforeValidator(_blank_is_none)] = None
    text: Text = None
    evidence_url: HttpUrl = None
    worse_off: Text = None


class AnswerInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


_MESSAGES = {
    "score": "a score is a whole number from -2 (value destroyed) to +2 (value clearly created)",
    "evidence_url": "an evidence link is an http(s) address",
    "confidence": "confidence is low, medium or high",
}


A = TypeVar("A", bound=AnswerFields)


@overload
def parse(raw: Any, taxonomy: Taxonomy) -> AnswerFields: ...
@overload
def parse(raw: Any, taxonomy: Taxonomy, model: type[A]) -> A: ...
def parse(raw: Any, taxonomy: Taxonomy, model: type[AnswerFields] = AnswerFields) -> AnswerFields:
    """The validated answer (the dimension made canonical), or AnswerInvalid with a problem per field.

    `model` may extend AnswerFields with who answers (the API's AnswerRequest), validated in the same pass."""
    try:
        fields = model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(part) for part in err["loc"]) or "$"
            message = _MESSAGES.get(path, err["msg"])
            if err["type"] == "extra_forbidden":
                message = f"unknown field; the fields are {', '.join(model.model_fields)}"
            problems.append(Problem(path, message))
        raise AnswerInvalid(problems) from None
    if fields.dimension is not None:
        slug = taxonomy.resolve(fields.dimension)
        if slug is None:
            suggestion = taxonomy.suggest(fields.dimension)
            hint = f"did you mean {suggestion!r}? " if suggestion else ""
            known = ", ".join(taxonomy.dimensions)
            raise AnswerInvalid([Problem("dimension", f"unknown dimension {fields.dimension!r}; {hint}known: {known}")])
        fields = fields.model_copy(update={"dimension": slug})
    return fields


@dataclass(frozen=True)
class Recorded:
    answer: CheckinAnswer
    event: Event


def record(
    session: Session,
    settings: Settings,
    round_: CheckinRound,
    fields: AnswerFields,
    *,
    group: str,
    channel: str,
    actor: str,
    stakeholder: Stakeholder | None = None,
    prompt: CheckinPrompt | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Store the answer, log it, and return the `checkin.answered` event (the caller runs the rules over it)."""
    moment = now or datetime.now(UTC)
    late = round_.status == "closed" or (round_.deadline is not None and moment > round_.deadline)
    if prompt is not None and prompt.answered_at is None:
        prompt.answered_at = moment
    session.flush()  # what the caller changed (the prompt it holds, rows the answer refers to) goes first
    # Core statements from here: an answer is a handful of rows, and the ORM's unit of work costs more than writing
    # them (bench/checkins.py measures this path).
    connection = session.connection()
    replaced: list[int] = []
    if stakeholder is not None:
        # The person's earlier answer stops counting (one statement: it is on every answer's path).
        replaced = list(connection.execute(_RETIRE, {"round": round_.id, "person": stakeholder.id}).scalars())
    prompt_id = prompt.id if prompt is not None else None
    if prompt is None and stakeholder is not None:
        prompt_id = connection.execute(
            _MARK_PROMPT, {"round": round_.id, "person": stakeholder.id, "moment": moment}
        ).scalar()
        loaded = session.identity_map.get(identity_key(CheckinPrompt, prompt_id)) if prompt_id else None
        if loaded is not None:
            session.expire(loaded, ["answered_at"])  # read again if asked: the row may have changed under it
    values = {
        "round_id": round_.id,
        "prompt_id": prompt_id,
        "stakeholder_id": stakeholder.id if stakeholder else None,
        "group": group,
        "dimension": fields.dimension,
        "score": fields.score,
        "confidence": fields.confidence,
        "text": fields.text,
        "evidence_url": fields.evidence_url,
        "worse_off": fields.worse_off,
        "channel": channel,
        "actor": actor[:200],
        "current": True,
        "late": late,
        "created_at": moment,
    }
    answer_id = connection.execute(_INSERT_ANSWER, values).scalar_one()
    # The row as written, in the session like one it had inserted itself (no second write, no read back).
    answer = CheckinAnswer(id=answer_id, **values)
    make_transient_to_detached(answer)
    session.add(answer)
    hypothesis = session.get(Hypothesis, round_.hypothesis_id)
    data = {
        "round": round_.id,
        "hypothesis": round_.hypothesis_id,
        "epic": hypothesis.epic_key if hypothesis else None,
        "iteration": round_.iteration_key,
        "answer": answer_id,
        "stakeholder": stakeholder.id if stakeholder else None,
        "group": group,
        "score": fields.score,
        "confidence": fields.confidence,
        "dimension": fields.dimension,
        "channel": channel,
        "late": late,
        "replaces": replaced,
        # Commitments, never the texts: these stay erasable, the log stays verifiable.
        "text": sealing.commit(settings, fields.text),
        "worse_off": sealing.commit(settings, fields.worse_off),
        "evidence_url": sealing.commit(settings, fields.evidence_url),
    }
    subject = f"checkin-round:{round_.id}"
    valuelog.append(session, kind=Kind.CHECKIN_ANSWERED, subject=subject, data=data, actor=actor, source=channel)
    payload = CheckinChange(
        round=round_.id,
        hypothesis=round_.hypothesis_id,
        iteration=round_.iteration_key,
        group=group,
        score=fields.score,
    )
    return Recorded(answer, Event(Kind.CHECKIN_ANSWERED, channel, subject, actor, moment, payload))
