"""`/api/v1/epics`: epics with their phase and child tickets. Keys may arrive percent-encoded or not."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from service.access import Permission
from service.api.auth import requires
from service.api.contract import KeyListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import page
from service.api.shapes import EpicDetail, EpicOut, Page
from service.api.visible import scope, shown, where
from service.api.work import iso, ticket
from service.runtime import db
from service.storage.models import Epic, Ticket
from service.summaries.case import Case, UnknownEpic, to_markdown, value_case

bp = Blueprint("api_epics", __name__)


class CaseQuery(BaseModel):
    format: Literal["json", "md"] = "json"


def _summary(epic: Epic) -> dict[str, Any]:
    children = db().scalar(select(func.count()).select_from(Ticket).where(Ticket.epic_key == epic.key)) or 0
    return {
        "key": epic.key,
        "title": epic.ticket.title,
        "state": epic.ticket.state,
        "url": epic.ticket.url,
        "phase": epic.phase,
        "closed_at": iso(epic.closed_at),
        "children": children,
    }


def _missing(key: str) -> str:
    return f"no epic {key!r}; percent-encode `#` as %23 (list epics with GET /api/v1/epics)"


@bp.get("/epics")
@documented(response=Page[EpicOut], query=KeyListQuery)
@requires(Permission.READ)
def list_epics() -> dict[str, Any]:
    """Epics, by key; the cursor is the last key."""
    query = where(select(Epic).options(selectinload(Epic.ticket)), scope().epics())
    return page(query, Epic.key, _summary, cast=str)


@bp.get("/epics/<path:key>")
@documented(response=EpicDetail)
@requires(Permission.READ)
def get_epic(key: str) -> dict[str, Any]:
    """One epic with its child tickets and their value labels (`github:owner/repo%2334`, `jira:PROJ-12`)."""
    epic = shown(db().get(Epic, key), _missing(key))
    children = db().scalars(
        select(Ticket).where(Ticket.epic_key == key).options(selectinload(Ticket.labels)).order_by(Ticket.key)
    )
    return {**_summary(epic), "description": epic.ticket.description, "tickets": [ticket(row) for row in children]}


@bp.get("/epics/<path:key>/case")
@documented(
    response=Case, query=CaseQuery, errors=(422,), media={"text/markdown": "the value case as Markdown (`?format=md`)"}
)
@requires(Permission.READ)
def epic_case(key: str) -> Response | dict[str, Any]:
    """The value case of an epic: JSON by default, `?format=md` for a Markdown document."""
    chosen = request.args.get("format", "json")
    if chosen not in ("json", "md"):
        raise ApiError(422, f"unknown format {chosen!r}; use json or md")
    shown(db().get(Epic, key), _missing(key))
    try:
        found = value_case(db(), key)
    except UnknownEpic as exc:
        raise ApiError(404, f"{exc} (list epics with GET /api/v1/epics)") from None
    if chosen == "md":
        return Response(to_markdown(found), content_type="text/markdown; charset=utf-8")
    return found.model_dump(mode="json")
