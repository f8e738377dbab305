"""Sign-in for people: an API token pasted once, remembered in the signed session cookie by the token's name."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, abort, g, redirect, request, session, url_for
from sqlalchemy import select

from service.access import Permission, allows, roles_with
from service.runtime import db, runtime
from service.scopes import Scope
from service.storage.models import ApiToken
from service.web.same_site import same_site_path

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
SESSION_KEY = "token_name"


@dataclass(frozen=True)
class Person:
    """Who is signed in: the token's name, role and scope. Actor in the value log: `token:<name>`."""

    name: str
    role: str
    scope: Scope = field(default_factory=Scope)

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    def sees(self, row: Any) -> bool:
        """Whether the token's scope shows this object (service/scopes.py), as the API decides."""
        return row is not None and self.scope.shows(db(), row)


def shown(row: T | None, message: str) -> T:
    """The row, or 404 when it is missing or outside the signed-in token's scope (the same page either way)."""
    person = current_person()
    if row is None or person is None or not person.sees(row):
        abort(404, message)
    return row


def where(query: Any, condition: Callable[[Scope], Any]) -> Any:
    """`query` limited to the signed-in token's scope; `condition` picks the filter, e.g. `Scope.epics`."""
    person = current_person()
    scope = person.scope if person is not None else Scope()
    return query if scope.everything else query.where(condition(scope))


def harden_session_cookie(app: Flask) -> None:
    """The sign-in cookie is also `Secure` whenever the service's own address is https (`PVM_BASE_URL`), even for a
    request that reached it over plain HTTP through a proxy nobody declared (service/transport.py sets HttpOnly and
    SameSite=Lax, and Secure for every request that came over TLS)."""
    app.config["SESSION_COOKIE_SECURE"] = runtime(app).settings.base_url.startswith("https://")


def current_person() -> Person | None:
    """The signed-in person, or None; a token revoked or expired since sign-in signs the person out."""
    if "person" in g:
        return g.person
    name = session.get(SESSION_KEY)
    person = None
    if name:
        row = db().scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
        if row is None or (row.expires_at is not None and row.expires_at <= datetime.now(UTC)):
            session.pop(SESSION_KEY, None)
        else:
            person = Person(row.name, row.role, Scope.of(row.scope))
    g.person = person
    return person


def sign_in(token: ApiToken) -> None:
    session.clear()  # a fresh session on sign-in, so nothing from before carries over
    session[SESSION_KEY] = token.name


def sign_out() -> None:
    session.clear()


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a link send people elsewhere after sign-in."""
    return same_site_path(target) or url_for("web.epics")


def needs(permission: Permission) -> Callable[[F], F]:
    """Sign-in first (back to this page afterwards), then the role check: 403 names the roles that may."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            person = current_person()
            if person is None:
                return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
            if not person.may(permission):
                may = ", ".join(roles_with(permission))
                abort(403, f"your role ({person.role}) may not do this; roles that may: {may}. Ask an admin.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
