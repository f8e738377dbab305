"""`/api/v1/tokens`: admins list, create and revoke API tokens.

A scoped admin token manages only tokens within its own scope, and cannot hand out more than it holds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from service import tokens
from service.access import Permission, Role
from service.api.auth import actor, requires
from service.api.bodies import parse_body
from service.api.contract import documented
from service.api.errors import ApiError
from service.api.shapes import Page, TokenCreated, TokenOut
from service.api.visible import scope
from service.runtime import db
from service.storage.models import ApiToken

bp = Blueprint("api_tokens", __name__)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    role: Role
    # Project keys (`github:owner/repo`, `jira:PRM`); empty or absent = every project.
    scope: list[str] = Field(default_factory=list, max_length=50)
    # `90d`, `2027-03-31` (valid through that day, UTC) or an RFC 3339 moment; absent = no expiry.
    expires: str | None = Field(default=None, max_length=40)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def serialise(row: ApiToken) -> dict[str, Any]:
    return {
        "name": row.name,
        "role": row.role,
        "scope": list(row.scope or []),
        "created_at": row.created_at.isoformat(),
        "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at),
        "last_used_at": _iso(row.last_used_at),
    }


def _invalid(field: str, exc: tokens.TokenError) -> ApiError:
    return ApiError(422, f"the token request is not valid: {exc}", [{"path": field, "message": str(exc)}])


def _manageable(row: ApiToken) -> bool:
    return scope().includes(tokens.scope_of(row))


@bp.get("/tokens")
@documented(response=Page[TokenOut])
@requires(Permission.MANAGE_TOKENS)
def list_tokens() -> dict[str, Any]:
    """All tokens (never their secrets); a scoped admin sees those within its scope."""
    return {"items": [serialise(t) for t in tokens.list_tokens(db()) if _manageable(t)], "next": None}


@bp.post("/tokens")
@documented(
    response=TokenCreated,
    body=TokenRequest,
    status=201,
    errors=(409,),
    example={"name": "ci-auditor", "role": "auditor", "scope": ["github:owner/repo"], "expires": "90d"},
)
@requires(Permission.MANAGE_TOKENS)
def create_token() -> tuple[dict[str, Any], int]:
    """Create a token (`name`, `role`, optional `scope` and `expires`); the secret is in this response only."""
    body = parse_body(TokenRequest)
    try:
        wanted = tokens.parse_scope(body.scope)
    except tokens.TokenError as exc:
        raise _invalid("scope", exc) from None
    try:
        expires_at = tokens.parse_expiry(body.expires) if body.expires else None
    except tokens.TokenError as exc:
        raise _invalid("expires", exc) from None
    if not scope().includes(wanted):
        raise ApiError(
            403,
            f"this token is limited to {scope().describe()} and cannot create a token for "
            f"{wanted.describe()}: give a `scope` within {list(scope().projects)!r}",
        )
    try:
        secret = tokens.create(db(), name=body.name, role=body.role, actor=actor(), scope=wanted, expires_at=expires_at)
    except tokens.TokenError as exc:
        raise ApiError(409, str(exc)) from None
    db().commit()
    shown = {
        "name": body.name,
        "role": body.role,
        "scope": list(wanted.projects),
        "expires_at": _iso(expires_at),
    }
    return {**shown, "token": secret}, 201


@bp.delete("/tokens/<name>")
@documented(status=204)
@requires(Permission.MANAGE_TOKENS)
def revoke_token(name: str) -> tuple[str, int]:
    """Revoke a token by name; a scoped admin only tokens within its scope (others answer 404, as unknown)."""
    row = next((t for t in tokens.list_tokens(db()) if t.name == name and t.revoked_at is None), None)
    if row is not None and not _manageable(row):
        raise ApiError(404, f"no active token named {name!r}; GET /api/v1/tokens lists the names")
    try:
        tokens.revoke(db(), name=name, actor=actor())
    except tokens.TokenError as exc:
        raise ApiError(404, str(exc)) from None
    db().commit()
    return "", 204
