"""`/api/v1/log`: read and verify the value log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel, Field
from sqlalchemy import select

from service.access import Permission
from service.api.auth import requires
from service.api.contract import ListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import page
from service.api.shapes import ConsistencyProofOut, InclusionProofOut, LogEntryOut, Page, VerifyOut
from service.api.visible import scope, shown, where
from service.runtime import db, runtime
from service.storage.models import ValueLogEntry
from service.valuelog import LogRecord, verify_database
from service.valuelog.proofs import ProofUnavailable, consistency_proof, inclusion_proof
from service.valuelog.query import LogFilter, QueryInvalid

bp = Blueprint("api_log", __name__)


class LogQuery(ListQuery):
    kind: str | None = Field(default=None, description="an event kind, or a family such as `hypothesis.*`")
    subject: str | None = None
    actor: str | None = None
    since: str | None = Field(default=None, description="a day or an RFC 3339 moment (UTC)")
    until: str | None = Field(default=None, description="a day or an RFC 3339 moment (UTC)")


class ProofQuery(BaseModel):
    size: int | None = Field(default=None, ge=1, description="the tree size (default: the newest signed checkpoint)")


class ConsistencyQuery(BaseModel):
    old: int = Field(ge=1, description="the size of the older checkpoint you hold")
    new: int | None = Field(default=None, ge=1, description="the newer size (default: the newest checkpoint)")


def serialise(row: ValueLogEntry) -> dict[str, Any]:
    return LogRecord.from_row(row).as_dict()


@bp.get("/log")
@documented(response=Page[LogEntryOut], query=LogQuery)
@requires(Permission.READ)
def list_log() -> dict[str, Any]:
    """Value-log entries, oldest first, filtered by kind, subject, actor and time range; the cursor is the seq.

    `kind=hypothesis.*` selects a family; `since` and `until` take a day or an RFC 3339 moment (UTC)."""
    try:
        log_filter = LogFilter.parse(request.args)
    except QueryInvalid as exc:
        raise ApiError(400, str(exc), [{"path": name, "message": message} for name, message in exc.problems]) from None
    return page(log_filter.apply(where(select(ValueLogEntry), scope().log())), ValueLogEntry.seq, serialise)


@bp.get("/log/verify")
@documented(response=VerifyOut)
@requires(Permission.READ)
def verify_log() -> dict[str, Any]:
    """Verify the whole chain as stored; `ok` false names the first bad seq and why.

    The same for every scope: the chain can only be checked whole, and the answer names no subject."""
    return verify_database(db(), release=True).as_dict()


def size_arg(name: str) -> int | None:
    """A tree size from the query string (`?size=`, `?old=`, `?new=`), or None when not given."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 16 or int(raw) < 1:
        raise ApiError(400, f"{name} must be a number of entries from 1 up, e.g. a checkpoint's size; got {raw[:30]!r}")
    return int(raw)


def proof_answer(make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return make()
    except ProofUnavailable as exc:
        raise ApiError(exc.status, str(exc)) from None


@bp.get("/log/<id:seq>/proof")
@documented(response=InclusionProofOut, query=ProofQuery, errors=(409,))
@requires(Permission.READ)
def log_proof(seq: int) -> dict[str, Any]:
    """Inclusion proof of one entry in the tree of `?size=` entries (default: the newest signed checkpoint)."""
    # A missing entry and one outside the token's projects get the same answer.
    missing = f"there is no entry with seq {seq} in this token's scope; list them with GET /api/v1/log"
    shown(db().get(ValueLogEntry, seq), missing)
    size = size_arg("size")
    return proof_answer(lambda: inclusion_proof(db(), runtime().settings, seq, size))


@bp.get("/log/consistency")
@documented(response=ConsistencyProofOut, query=ConsistencyQuery, errors=(409,))
@requires(Permission.READ)
def log_consistency() -> dict[str, Any]:
    """Proof that the tree of `?new=` entries (default: the newest checkpoint) extends the tree of `?old=`."""
    old, new = size_arg("old"), size_arg("new")
    if old is None:
        raise ApiError(400, "give ?old=<size>, the size of the older checkpoint you hold")
    return proof_answer(lambda: consistency_proof(db(), runtime().settings, old, new))
