"""`/healthz`: database reachable, schema at head and the value log append-only, or 503 saying which is not."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from service.runtime import runtime
from service.storage import migrate
from service.valuelog import append_only

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
    missing = append_only.check(rt.engine)
    if missing:
        # Not fatal to requests, but not healthy either: history can be rewritten unnoticed until it is fixed.
        return {
            "status": "degraded",
            "database": "ok",
            "schema": current,
            "log": "unguarded",
            "triggers": [str(problem) for problem in missing],
            "error": append_only.describe(missing),
        }, 503
    return {"status": "ok", "database": "ok", "schema": current, "log": "append-only"}, 200
