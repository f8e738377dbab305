"""`/api/v1/iterations`: sprints, milestones and Projects iterations with the tickets in them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.access import Permission
from service.api.auth import requires
from service.api.errors import ApiError
from service.api.pagination import page
from service.api.work import iso, ticket
from service.runtime import db
from service.storage.models import Iteration, Ticket, TicketIteration

bp = Blueprint("api_iterations", __name__)


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


@bp.get("/iterations")
@requires(Permission.READ)
def list_iterations() -> dict[str, Any]:
    """Iterations by key; filter by `state` (future, active, closed, deleted) and `source`."""
    query = select(Iteration)
    for name in ("state", "source"):
        value = request.args.get(name)
        if value:
            query = query.where(getattr(Iteration, name) == value)
    return page(query, Iteration.key, serialise, cast=str)


@bp.get("/iterations/<path:key>")
@requires(Permission.READ)
def get_iteration(key: str) -> dict[str, Any]:
    """One iteration with every ticket that was in it, and when it joined and left (`jira:sprint%2F37` or not)."""
    row = db().get(Iteration, key)
    if row is None:
        raise ApiError(404, f"no iteration {key!r}; list them with GET /api/v1/iterations")
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
