"""`/api/v1/tokens`: admins list, create and revoke API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, Field

from service import tokens
from service.access import Permission, Role
from service.api.auth import actor, requires
from service.api.bodies import parse_body
from service.api.errors import ApiError
from service.runtime import db
from service.storage.models import ApiToken

bp = Blueprint("api_tokens", __name__)


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role


def serialise(row: ApiToken) -> dict[str, Any]:
    return {
        "name": row.name,
        "role": row.role,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


@bp.get("/tokens")
@requires(Permission.MANAGE_TOKENS)
def list_tokens() -> dict[str, Any]:
    """All tokens (never their secrets)."""
    return {"items": [serialise(t) for t in tokens.list_tokens(db())], "next": None}


@bp.post("/tokens")
@requires(Permission.MANAGE_TOKENS)
def create_token() -> tuple[dict[str, Any], int]:
    """Create a token; the secret is in this response only."""
    body = parse_body(TokenRequest)
    try:
        secret = tokens.create(db(), name=body.name, role=body.role, actor=actor())
    except tokens.TokenError as exc:
        raise ApiError(409, str(exc)) from None
    db().commit()
    return {"name": body.name, "role": body.role, "token": secret}, 201


@bp.delete("/tokens/<name>")
@requires(Permission.MANAGE_TOKENS)
def revoke_token(name: str) -> tuple[str, int]:
    """Revoke a token by name."""
    try:
        tokens.revoke(db(), name=name, actor=actor())
    except tokens.TokenError as exc:
        raise ApiError(404, str(exc)) from None
    db().commit()
    return "", 204
