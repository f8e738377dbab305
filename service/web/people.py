"""Sign-in for people: an API token pasted once, remembered in the signed session cookie by the token's name."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy import select

from service.access import Permission, allows, roles_with
from service.runtime import db
from service.storage.models import ApiToken
from service.web.same_site import same_site_path

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "token_name"


@dataclass(frozen=True)
class Person:
    """Who is signed in: the token's name and role. Actor in the value log: `token:<name>`."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def current_person() -> Person | None:
    """The signed-in person, or None; a token revoked since sign-in signs the person out."""
    if "person" in g:
        return g.person
    name = session.get(SESSION_KEY)
    person = None
    if name:
        row = db().scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
        if row is None:
            session.pop(SESSION_KEY, None)
        else:
            person = Person(row.name, row.role)
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
