"""`/api/v1/.../hypotheses`: state, change and read value hypotheses on epics, and their measure's readings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, cast, select

from service.access import Permission
from service.api.auth import actor, requires
from service.api.bodies import json_body, parse_body
from service.api.contract import ListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import filtered, page
from service.api.shapes import HypothesisOut, Page, ReadingOut
from service.api.visible import scope, shown, where
from service.hypotheses import commands
from service.hypotheses.schema import (
    PHASES,
    STATUSES,
    HypothesisChanges,
    HypothesisInvalid,
    IsoDate,
    NewHypothesis,
    Number,
    Phase,
    Status,
    validate,
)
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db
from service.storage.models import Hypothesis, Reading

bp = Blueprint("api_hypotheses", __name__)


class HypothesisQuery(ListQuery):
    epic: str | None = None
    status: Status | None = None
    phase: Phase | None = None
    dimension: str | None = Field(
        default=None, description="a dimension's slug or alias", json_schema_extra={"x-vocabulary": "dimensions"}
    )


SOURCE = "api"


class ReadingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    value: Number
    date: IsoDate
    source: str | None = Field(default=None, max_length=300)


def _invalid(exc: HypothesisInvalid) -> ApiError:
    return ApiError(422, "the hypothesis is not valid; see details for each field", [p.as_dict() for p in exc.problems])


def _hypothesis(hypothesis_id: int) -> Hypothesis:
    return shown(
        db().get(Hypothesis, hypothesis_id), f"no hypothesis {hypothesis_id}; list them with GET /api/v1/hypotheses"
    )


def _epic(key: str) -> None:
    try:
        epic = commands.require_epic(db(), key)
    except commands.EpicUnknown as exc:
        raise ApiError(404, str(exc)) from None
    # Out of scope reads as unknown, for writes too: creating a hypothesis there must not confirm the epic exists.
    shown(epic, str(commands.EpicUnknown(key)))


def reading_as_dict(row: Reading) -> dict[str, Any]:
    return {
        "id": row.id,
        "hypothesis_id": row.hypothesis_id,
        "value": row.value,
        "date": row.date.isoformat(),
        "source": row.source,
        "actor": row.actor,
        "created_at": row.created_at.isoformat(),
    }


@bp.get("/epics/<path:key>/hypotheses")
@documented(response=Page[HypothesisOut], query=ListQuery)
@requires(Permission.READ)
def list_epic_hypotheses(key: str) -> dict[str, Any]:
    """The epic's hypotheses, oldest first."""
    _epic(key)
    return page(select(Hypothesis).where(Hypothesis.epic_key == key), Hypothesis.id, commands.as_dict)


@bp.post("/epics/<path:key>/hypotheses")
@documented(
    response=HypothesisOut,
    body=NewHypothesis,
    status=201,
    example={"statement": "Fewer citizens call the help desk about permits", "dimensions": ["efficiency"]},
)
@requires(Permission.WRITE_HYPOTHESES)
def create_hypothesis(key: str) -> tuple[dict[str, Any], int]:
    """State a hypothesis on an epic; only `statement` and `dimensions` are required (`reason` if `status` is set)."""
    _epic(key)
    try:
        fields = validate(json_body(), current_taxonomy(), NewHypothesis)
        hypothesis, _ = commands.create(
            db(), epic_key=key, fields=fields, origin="api", actor=actor(), source=SOURCE, reason=fields.reason
        )
    except HypothesisInvalid as exc:
        raise _invalid(exc) from None
    db().commit()
    return commands.as_dict(hypothesis), 201


@bp.get("/hypotheses")
@documented(response=Page[HypothesisOut], query=HypothesisQuery)
@requires(Permission.READ)
def list_hypotheses() -> dict[str, Any]:
    """All hypotheses, oldest first; filter by `epic`, `status`, `phase` and `dimension`."""
    query = where(select(Hypothesis), scope().hypotheses())
    if request.args.get("epic"):
        query = query.where(Hypothesis.epic_key == request.args["epic"])
    query = filtered(query, {"status": (Hypothesis.status, STATUSES), "phase": (Hypothesis.phase, PHASES)})
    wanted = request.args.get("dimension")
    if wanted:
        taxonomy = current_taxonomy()
        slug = taxonomy.resolve(wanted)
        if slug is None:
            suggestion = taxonomy.suggest(wanted)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise ApiError(400, f"unknown dimension {wanted!r}{hint} Known: {', '.join(taxonomy.dimensions)}")
        # The list is stored as JSON text on both engines; a quoted slug cannot match inside another slug.
        query = query.where(cast(Hypothesis.dimensions, String).like(f'%"{slug}"%'))
    return page(query, Hypothesis.id, commands.as_dict)


@bp.get("/hypotheses/<id:hypothesis_id>")
@documented(response=HypothesisOut)
@requires(Permission.READ)
def get_hypothesis(hypothesis_id: int) -> dict[str, Any]:
    """One hypothesis with all its fields."""
    return commands.as_dict(_hypothesis(hypothesis_id))


@bp.patch("/hypotheses/<id:hypothesis_id>")
@documented(response=HypothesisOut, body=HypothesisChanges, example={"status": "active", "reason": "the pilot started"})
@requires(Permission.WRITE_HYPOTHESES)
def change_hypothesis(hypothesis_id: int) -> dict[str, Any]:
    """Change some fields; a status change needs `reason`. Writes `hypothesis.updated` (or `.retired`)."""
    hypothesis = _hypothesis(hypothesis_id)
    body = parse_body(HypothesisChanges)
    changes = body.model_dump(mode="json", exclude_unset=True, exclude={"reason"})
    try:
        commands.patch(
            db(),
            hypothesis,
            changes=changes,
            reason=body.reason,
            taxonomy=current_taxonomy(),
            actor=actor(),
            source=SOURCE,
        )
    except HypothesisInvalid as exc:
        raise _invalid(exc) from None
    db().commit()
    return commands.as_dict(hypothesis)


@bp.get("/hypotheses/<id:hypothesis_id>/readings")
@documented(response=Page[ReadingOut], query=ListQuery)
@requires(Permission.READ)
def list_readings(hypothesis_id: int) -> dict[str, Any]:
    """The readings of the hypothesis's measure, oldest first."""
    _hypothesis(hypothesis_id)
    return page(select(Reading).where(Reading.hypothesis_id == hypothesis_id), Reading.id, reading_as_dict)


@bp.post("/hypotheses/<id:hypothesis_id>/readings")
@documented(
    response=ReadingOut,
    body=ReadingRequest,
    status=201,
    errors=(409,),
    example={"value": 42.5, "date": "2026-03-31", "source": "help desk report"},
)
@requires(Permission.WRITE_HYPOTHESES)
def add_reading(hypothesis_id: int) -> tuple[dict[str, Any], int]:
    """Record a reading `{"value": ..., "date": ..., "source": ...}` of the measure."""
    hypothesis = _hypothesis(hypothesis_id)
    body = parse_body(ReadingRequest)
    if not hypothesis.measure:
        raise ApiError(
            409, "this hypothesis has no measure to read; add `measure` {name, baseline, target} with PATCH first"
        )
    on: dt.date = body.date
    reading, _ = commands.add_reading(
        db(), hypothesis, value=body.value, on=on, reading_source=body.source, actor=actor(), source=SOURCE
    )
    db().commit()
    return reading_as_dict(reading), 201
