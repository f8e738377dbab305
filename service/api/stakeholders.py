"""`/api/v1/stakeholders` and `/api/v1/hypotheses/<id>/stakeholders`: who is asked for check-ins, and about what.

Auditors see each stakeholder's id, group, scope and which channels exist, never a name or contact.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from service.access import Permission
from service.api.auth import actor, requires
from service.api.bodies import json_body, parse_body
from service.api.contract import ROW_ID_MAX, ListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import filtered, page
from service.api.shapes import (
    AssignedOut,
    AssignedPage,
    Page,
    StakeholderDetail,
    StakeholderErased,
    StakeholderOut,
    StakeholderSaved,
)
from service.api.visible import scope, shown, where
from service.checkins import stakeholders
from service.checkins.stakeholders import NewStakeholder, StakeholderChanges, StakeholderInvalid, StakeholderUnknown
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.scopes import Scope
from service.storage.models import Hypothesis, HypothesisStakeholder, Stakeholder

bp = Blueprint("api_stakeholders", __name__)


class StakeholderQuery(ListQuery):
    group: str | None = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stakeholder_id: int = Field(ge=1, strict=True, description="a stakeholder's id; beyond 2**31-1 none exists (404)")


SOURCE = "api"


def _personal() -> bool:
    return g.token_role != "auditor"


def _serialise(person: Stakeholder) -> dict[str, Any]:
    return stakeholders.as_dict(person, personal=_personal())


def _invalid(exc: StakeholderInvalid) -> ApiError:
    return ApiError(
        422, "the stakeholder is not valid; see details for each field", [p.as_dict() for p in exc.problems]
    )


def _person(stakeholder_id: int) -> Stakeholder:
    try:
        person = stakeholders.get(db(), stakeholder_id)
    except StakeholderUnknown as exc:
        raise ApiError(404, str(exc)) from None
    return shown(person, f"no stakeholder {stakeholder_id}; list them with GET /api/v1/stakeholders")


def _hypothesis(hypothesis_id: int) -> Hypothesis:
    return shown(
        db().get(Hypothesis, hypothesis_id), f"no hypothesis {hypothesis_id}; list them with GET /api/v1/hypotheses"
    )


def _within_scope(given: list[str]) -> None:
    """A scoped token keeps the people it adds or changes inside its projects: a stakeholder with no scope, or
    another project's, would be asked about (and see) projects the token itself may not."""
    mine = scope()
    if mine.everything:
        return
    if not mine.includes(Scope.of(given)):
        raise ApiError(
            403,
            f"this token is limited to {mine.describe()}: give the stakeholder a `scope` within it, "
            f"e.g. {list(mine.projects)!r}",
            [{"path": "scope", "message": "a project within the token's scope is required"}],
        )


def _saved(saved: stakeholders.Saved) -> dict[str, Any]:
    shown = _serialise(saved.person)
    if saved.webhook_secret:
        shown["webhook_secret"] = saved.webhook_secret  # this answer only: store it where the webhook is received
    return shown


@bp.get("/stakeholders")
@documented(response=Page[StakeholderOut], query=StakeholderQuery)
@requires(Permission.READ)
def list_stakeholders() -> dict[str, Any]:
    """Stakeholders, oldest first; filter by `group`."""
    query = where(filtered(select(Stakeholder), {"group": (Stakeholder.group, None)}), scope().stakeholders())
    return page(query, Stakeholder.id, _serialise)


@bp.post("/stakeholders")
@documented(
    response=StakeholderSaved,
    body=NewStakeholder,
    status=201,
    example={"name": "Ada Citizen", "group": "citizen", "email": "ada@example.org"},
)
@requires(Permission.WRITE_STAKEHOLDERS)
def add_stakeholder() -> tuple[dict[str, Any], int]:
    """Add a stakeholder (`name`, `group`; `email`, `github`, `jira`, `webhook_url`, `scope`)."""
    try:
        fields = stakeholders.parse(NewStakeholder, json_body())
        _within_scope(fields.scope)
        saved = stakeholders.add(db(), runtime().settings, current_taxonomy(), fields, actor=actor(), source=SOURCE)
    except StakeholderInvalid as exc:
        raise _invalid(exc) from None
    db().commit()
    return _saved(saved), 201


@bp.get("/stakeholders/<id:stakeholder_id>")
@documented(response=StakeholderDetail)
@requires(Permission.READ)
def get_stakeholder(stakeholder_id: int) -> dict[str, Any]:
    """One stakeholder, with the hypotheses they are assigned to."""
    person = _person(stakeholder_id)
    # A stakeholder without scope is visible to every token, but only the hypotheses in the token's scope are named.
    assigned = db().scalars(
        where(
            select(HypothesisStakeholder.hypothesis_id)
            .join(Hypothesis, Hypothesis.id == HypothesisStakeholder.hypothesis_id)
            .where(HypothesisStakeholder.stakeholder_id == person.id),
            scope().hypotheses(),
        ).order_by(HypothesisStakeholder.hypothesis_id)
    )
    return {**_serialise(person), "hypotheses": list(assigned)}


@bp.patch("/stakeholders/<id:stakeholder_id>")
@documented(response=StakeholderSaved, body=StakeholderChanges, example={"email": None, "jira": "ada.c"})
@requires(Permission.WRITE_STAKEHOLDERS)
def change_stakeholder(stakeholder_id: int) -> dict[str, Any]:
    """Change some fields; a new `webhook_url` gets a new signing secret, in this answer only."""
    person = _person(stakeholder_id)
    try:
        changes = stakeholders.parse(StakeholderChanges, json_body())
        if "scope" in changes.model_fields_set:
            _within_scope(changes.scope or [])  # null or [] clears it: the person would follow every project
        saved = stakeholders.change(
            db(), runtime().settings, current_taxonomy(), person, changes, actor=actor(), source=SOURCE
        )
    except StakeholderInvalid as exc:
        raise _invalid(exc) from None
    db().commit()
    return _saved(saved)


@bp.post("/stakeholders/<id:stakeholder_id>/erase")
@documented(response=StakeholderErased)
@requires(Permission.WRITE_STAKEHOLDERS)
def erase_stakeholder(stakeholder_id: int) -> dict[str, Any]:
    """Erase the person's name, contacts and answer texts; their group and scores stay in the figures."""
    person = _person(stakeholder_id)
    cleared = stakeholders.erase(db(), person, actor=actor(), source=SOURCE)
    db().commit()
    return {**_serialise(person), "answers_cleared": cleared}


@bp.get("/hypotheses/<id:hypothesis_id>/stakeholders")
@documented(response=AssignedPage)
@requires(Permission.READ)
def list_assigned(hypothesis_id: int) -> dict[str, Any]:
    """Who is asked about the hypothesis: those assigned or, when none are, everyone in scope of its groups."""
    hypothesis = _hypothesis(hypothesis_id)
    chosen = stakeholders.recipients(db(), hypothesis)
    assigned = set(
        db().scalars(
            select(HypothesisStakeholder.stakeholder_id).where(HypothesisStakeholder.hypothesis_id == hypothesis.id)
        )
    )
    items = [
        {**_serialise(person), "assigned": person.id in assigned}
        for person in chosen.people
        if scope().overlaps(person.scope)
    ]
    return {"items": items, "next": None, "unreachable_groups": chosen.unreachable}


def _assignee() -> Stakeholder:
    """The stakeholder named by the body, validated by `Assignment`, the model the OpenAPI document declares."""
    stakeholder_id = parse_body(Assignment).stakeholder_id
    if stakeholder_id > ROW_ID_MAX:
        raise ApiError(404, f"no stakeholder {stakeholder_id}; list them with GET /api/v1/stakeholders")
    return _person(stakeholder_id)


@bp.post("/hypotheses/<id:hypothesis_id>/stakeholders")
@documented(
    response=AssignedOut, body=Assignment, status=201, also={200: "already assigned"}, example={"stakeholder_id": 1}
)
@requires(Permission.WRITE_STAKEHOLDERS)
def assign(hypothesis_id: int) -> tuple[dict[str, Any], int]:
    """Assign a stakeholder `{"stakeholder_id": ...}`: from then on only assigned people are asked about it."""
    hypothesis, person = _hypothesis(hypothesis_id), _assignee()
    try:
        added = stakeholders.assign(db(), hypothesis, person, actor=actor(), source=SOURCE)
    except StakeholderInvalid as exc:
        raise _invalid(exc) from None
    db().commit()
    return {**_serialise(person), "assigned": True}, 201 if added else 200


@bp.delete("/hypotheses/<id:hypothesis_id>/stakeholders")
@documented(body=Assignment, status=204, example={"stakeholder_id": 1})
@requires(Permission.WRITE_STAKEHOLDERS)
def unassign_by_body(hypothesis_id: int) -> tuple[str, int]:
    """Unassign `{"stakeholder_id": ...}`."""
    return _unassign(_hypothesis(hypothesis_id), _assignee())


@bp.delete("/hypotheses/<id:hypothesis_id>/stakeholders/<id:stakeholder_id>")
@documented(status=204)
@requires(Permission.WRITE_STAKEHOLDERS)
def unassign(hypothesis_id: int, stakeholder_id: int) -> tuple[str, int]:
    """Unassign one stakeholder."""
    return _unassign(_hypothesis(hypothesis_id), _person(stakeholder_id))


def _unassign(hypothesis: Hypothesis, person: Stakeholder) -> tuple[str, int]:
    if not stakeholders.unassign(db(), hypothesis, person, actor=actor(), source=SOURCE):
        raise ApiError(404, f"stakeholder {person.id} is not assigned to hypothesis {hypothesis.id}")
    db().commit()
    return "", 204
