"""Bearer-token authentication and role checks, done before any body is read."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from service import tokens
from service.access import Permission, allows, roles_with
from service.api.errors import ApiError
from service.runtime import db

F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                raise ApiError(
                    401,
                    "missing token: send `Authorization: Bearer <token>` "
                    "(create one with `pvm token create --role R --name N`)",
                )
            try:
                token = tokens.authenticate(db(), presented.strip())
            except tokens.TokenExpired as exc:
                raise ApiError(401, str(exc)) from None
            if token is None:
                raise ApiError(401, "unknown or revoked token: ask an admin for a new one")
            if token in db().dirty:  # last_used_at moved (at most once a minute): keep it, whatever the view does
                db().commit()
            if not allows(token.role, permission):
                raise ApiError(
                    403,
                    f"role {token.role!r} may not do this ({permission.value}); "
                    f"roles that may: {', '.join(roles_with(permission))}",
                )
            g.token_name, g.token_role = token.name, token.role
            g.token_scope = tokens.scope_of(token)  # every object-level read and write checks it (api/visible.py)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def actor() -> str:
    """Who acts, as written into the value log."""
    return f"token:{g.token_name}"
