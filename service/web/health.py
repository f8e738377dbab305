"""`/healthz`: database reachable and schema at head, or 503 saying which is not."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from service.runtime import runtime
from service.storage import migrate

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int]:
    rt = runtime()
    reason = rt.database_reachable()
    if reason is not None:
        return {"status": "unavailable", "database": "unreachable", "error": reason}, 503
    current, head = migrate.current_revision(rt.engine), migrate.head_revision()
    if current != head:
        return {
            "status": "unavailable",
            "database": "ok",
            "schema": current,
            "error": f"schema is at {current or 'nothing'}, head is {head}: run `pvm db upgrade`",
        }, 503
    return {"status": "ok", "database": "ok", "schema": current}, 200
