"""Stakeholders' answers per group: the one computation behind the rules' facts, the summary and the dashboard.

A person's latest answer in a round counts (`current`); the earlier ones are kept for the record only.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound, Iteration, Stakeholder
from service.summaries.model import GroupAnswers


@dataclass(frozen=True)
class Answered:
    round_id: int
    hypothesis_id: int
    group: str
    score: int
    late: bool
    worse_off: str | None
    erased: bool  # the person asked for erasure: texts are gone, the score stays


@dataclass(frozen=True)
class Asked:
    round_id: int
    hypothesis_id: int
    group: str
    answered: bool


# Built once: the rules ask these on every answer, and a statement object keeps its SQL cache key.
_GROUP_MEANS = (
    select(CheckinAnswer.group, func.avg(CheckinAnswer.score))
    .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
    # A person's latest answer in a round counts; the earlier ones are kept for the record only.
    .where(CheckinRound.iteration_key == bindparam("iteration"), CheckinAnswer.current.is_(True))
    .group_by(CheckinAnswer.group)
)
_GROUP_MEANS_OF = _GROUP_MEANS.where(CheckinRound.hypothesis_id.in_(bindparam("hypotheses", expanding=True)))
_STARTED = func.coalesce(Iteration.start_at, Iteration.created_at)
_CURRENT = aliased(Iteration)
_CURRENT_STARTED = (
    select(func.coalesce(_CURRENT.start_at, _CURRENT.created_at))
    .where(_CURRENT.key == bindparam("iteration"))
    .scalar_subquery()
)
_PREVIOUS_ITERATION = (
    select(Iteration.key)
    .join(CheckinRound, CheckinRound.iteration_key == Iteration.key)
    .join(CheckinAnswer, CheckinAnswer.round_id == CheckinRound.id)
    .where(
        Iteration.key != bindparam("iteration"),
        CheckinRound.hypothesis_id.in_(bindparam("hypotheses", expanding=True)),
        _STARTED < _CURRENT_STARTED,  # earlier than the iteration asked about; no row when that one is unknown
    )
    .group_by(Iteration.key, _STARTED)
    .order_by(_STARTED.desc())
    .limit(1)
)


def group_means(session: Session, iteration: str | None, hypotheses: Sequence[int] | None = None) -> dict[str, float]:
    """Mean score per group in an iteration, over every hypothesis or the given ones (one aggregate query)."""
    if not iteration:
        return {}
    if hypotheses is None:
        rows = session.execute(_GROUP_MEANS, {"iteration": iteration})
    else:
        rows = session.execute(_GROUP_MEANS_OF, {"iteration": iteration, "hypotheses": list(hypotheses)})
    # PostgreSQL's avg() of integers is a Decimal, SQLite's a float: one type for rules and templates.
    return {group: float(mean) for group, mean in rows if mean is not None}


def previous_iteration(session: Session, iteration: str, hypotheses: Sequence[int]) -> str | None:
    """The latest earlier iteration that has answers about the same hypotheses."""
    if not hypotheses:
        return None
    found = session.scalar(_PREVIOUS_ITERATION, {"iteration": iteration, "hypotheses": list(hypotheses)})
    return str(found) if found is not None else None


def drops(session: Session, iteration: str, hypotheses: Sequence[int]) -> dict[str, float]:
    """How far each group's mean fell since the previous iteration with answers about the same hypotheses."""
    previous = previous_iteration(session, iteration, hypotheses)
    if previous is None:
        return {}
    now_means = group_means(session, iteration, hypotheses)
    before = group_means(session, previous, hypotheses)
    return {group: before[group] - mean for group, mean in now_means.items() if group in before}


def _rounds(round_ids: Sequence[int] | None, iteration: str | None) -> ColumnElement[bool] | None:
    """The rounds asked about: by id, or every round of an iteration (one short statement, however many rounds)."""
    if iteration is not None:
        return CheckinRound.iteration_key == iteration
    return CheckinRound.id.in_(round_ids) if round_ids else None


def answered_in(
    session: Session, round_ids: Sequence[int] | None = None, *, iteration: str | None = None
) -> list[Answered]:
    """The answers that count (a person's latest per round) in the given rounds, or in an iteration's rounds."""
    rounds = _rounds(round_ids, iteration)
    if rounds is None:
        return []
    rows = session.execute(
        select(
            CheckinAnswer.round_id,
            CheckinRound.hypothesis_id,
            CheckinAnswer.group,
            CheckinAnswer.score,
            CheckinAnswer.late,
            CheckinAnswer.worse_off,
            Stakeholder.erased_at,
        )
        .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
        .outerjoin(Stakeholder, Stakeholder.id == CheckinAnswer.stakeholder_id)
        .where(rounds, CheckinAnswer.current.is_(True))
        .order_by(CheckinAnswer.id)
    )
    return [
        Answered(round_id, hypothesis, group, int(score), bool(late), worse_off, erased_at is not None)
        for round_id, hypothesis, group, score, late, worse_off, erased_at in rows
    ]


def asked_in(session: Session, round_ids: Sequence[int] | None = None, *, iteration: str | None = None) -> list[Asked]:
    """Every prompt sent in the given rounds (or an iteration's), and whether it was answered."""
    rounds = _rounds(round_ids, iteration)
    if rounds is None:
        return []
    answered_prompts = (
        select(CheckinAnswer.prompt_id)
        .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
        .where(rounds, CheckinAnswer.prompt_id.is_not(None))
    )
    rows = session.execute(
        select(
            CheckinPrompt.round_id,
            CheckinRound.hypothesis_id,
            CheckinPrompt.group,
            CheckinPrompt.answered_at.is_not(None) | CheckinPrompt.id.in_(answered_prompts),
        )
        .join(CheckinRound, CheckinRound.id == CheckinPrompt.round_id)
        .where(rounds)
    )
    return [Asked(round_id, hypothesis, group, bool(done)) for round_id, hypothesis, group, done in rows]


def by_group(answered: Iterable[Answered], asked: Iterable[Asked]) -> list[GroupAnswers]:
    """Count, mean and spread per group, groups in alphabetical order."""
    scores: dict[str, list[int]] = defaultdict(list)
    late: dict[str, int] = defaultdict(int)
    prompts: dict[str, int] = defaultdict(int)
    done: dict[str, int] = defaultdict(int)
    for answer in answered:
        scores[answer.group].append(answer.score)
        late[answer.group] += answer.late
    for prompt in asked:
        prompts[prompt.group] += 1
        done[prompt.group] += prompt.answered
    result = []
    for group in sorted(set(scores) | set(prompts)):
        values = scores.get(group, [])
        result.append(
            GroupAnswers(
                group=group,
                asked=prompts.get(group, 0),
                answered=done.get(group, 0),
                answers=len(values),
                late=late.get(group, 0),
                mean=statistics.fmean(values) if values else None,
                spread=spread(values) if values else None,
                lowest=min(values) if values else None,
                highest=max(values) if values else None,
            )
        )
    return result


def spread(scores: Sequence[int]) -> float:
    """Population standard deviation. Scores are small whole numbers, so sums of integers are exact: this is
    statistics.pstdev's result without its exact-fraction arithmetic, which costs a summary more than its queries."""
    n, total = len(scores), sum(scores)
    squares = sum(score * score for score in scores)
    return math.sqrt(max(0, n * squares - total * total)) / n


def divergence(groups: Iterable[GroupAnswers]) -> float | None:
    """The distance between the highest and the lowest group mean; None with fewer than two groups answering."""
    means = [group.mean for group in groups if group.mean is not None]
    return max(means) - min(means) if len(means) >= 2 else None


def rate(asked: Sequence[Asked]) -> float | None:
    return sum(prompt.answered for prompt in asked) / len(asked) if asked else None
