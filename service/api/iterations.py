"""`/api/v1/iterations`: sprints, milestones and Projects iterations with the tickets in them."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, render_template, request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.access import Permission
from service.api.auth import requires
from service.api.contract import KeyListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import page
from service.api.shapes import IterationDetail, IterationOut, Page
from service.api.visible import scope, shown, where
from service.api.work import iso, ticket
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db
from service.storage.models import Iteration, Ticket, TicketIteration
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.summaries.formats import FORMATS, MEDIA_TYPES, to_csv, to_json, to_markdown
from service.summaries.model import Summary

bp = Blueprint("api_iterations", __name__)


class IterationQuery(KeyListQuery):
    state: str | None = Field(default=None, description="future, active, closed or deleted")
    source: str | None = None


class SummaryQuery(BaseModel):
    format: Literal["json", "md", "csv", "html"] = "json"
    framework: str | None = Field(default=None, description="regroup the dimensions by this framework")


def serialise(row: Iteration) -> dict[str, Any]:
    return {
        "key": row.key,
        "source": row.source,
        "name": row.name,
        "state": row.state,
        "goal": row.goal,
        "start_at": iso(row.start_at),
        "end_at": iso(row.end_at),
    }


def _missing(key: str) -> str:
    return f"no iteration {key!r}; list them with GET /api/v1/iterations"


@bp.get("/iterations")
@documented(response=Page[IterationOut], query=IterationQuery)
@requires(Permission.READ)
def list_iterations() -> dict[str, Any]:
    """Iterations by key; filter by `state` (future, active, closed, deleted) and `source`."""
    query = where(select(Iteration), scope().iterations())
    for name in ("state", "source"):
        value = request.args.get(name)
        if value:
            query = query.where(getattr(Iteration, name) == value)
    return page(query, Iteration.key, serialise, cast=str)


@bp.get("/iterations/<path:key>")
@documented(response=IterationDetail)
@requires(Permission.READ)
def get_iteration(key: str) -> dict[str, Any]:
    """One iteration with every ticket that was in it, and when it joined and left (`jira:sprint%2F37` or not)."""
    row = shown(db().get(Iteration, key), _missing(key))
    members = db().execute(
        select(TicketIteration, Ticket)
        .join(Ticket, Ticket.key == TicketIteration.ticket_key)
        .where(TicketIteration.iteration_key == key)
        .options(selectinload(Ticket.labels))
        .order_by(Ticket.key)
    )
    tickets = [
        {**ticket(item), "joined_at": iso(link.joined_at), "left_at": iso(link.left_at)} for link, item in members
    ]
    return {**serialise(row), "tickets": tickets}


@bp.get("/iterations/<path:key>/summary")
@documented(
    response=Summary,
    query=SummaryQuery,
    errors=(422,),
    media={"text/markdown": "`?format=md`", "text/csv": "`?format=csv`", "text/html": "`?format=html`"},
)
@requires(Permission.READ)
def iteration_summary(key: str) -> Response | dict[str, object]:
    """The sprint value summary: JSON, or `?format=md|csv|html`; `?framework=` regroups dimensions by a framework.

    A scoped token sees the summary of an iteration in its scope; the summary covers the whole iteration, tickets
    of other projects in a shared sprint included, as the sprint review sees it."""
    chosen = request.args.get("format", "json")
    if chosen not in FORMATS:
        raise ApiError(422, f"unknown format {chosen!r}; use one of: {', '.join(FORMATS)}")
    if not scope().everything:  # the unscoped 404 lists known iterations, which a scoped token must not see
        shown(db().get(Iteration, key), _missing(key))
    try:
        summary = summarise(db(), current_taxonomy(), key, request.args.get("framework") or None)
    except UnknownIteration as exc:
        raise ApiError(404, str(exc)) from None
    except UnknownFramework as exc:
        raise ApiError(422, str(exc)) from None
    if chosen == "json":
        return to_json(summary)
    if chosen == "html":
        body = render_template("summary_document.html", s=summary)
    else:
        body = to_markdown(summary) if chosen == "md" else to_csv(summary)
    return Response(body, content_type=MEDIA_TYPES[chosen])
