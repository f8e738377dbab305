"""Roles and what each may do; the API asks `allows(role, permission)` before it reads a body."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Role = Literal["auditor", "team", "product-owner", "admin"]


class Permission(StrEnum):
    READ = "read"
    WRITE_HYPOTHESES = "write:hypotheses"  # hypotheses and their readings
    WRITE_ANSWERS = "write:answers"
    WRITE_STAKEHOLDERS = "write:stakeholders"
    WRITE_CHECKINS = "write:checkins"  # opening and closing check-in rounds
    OPERATE = "operate"  # replay deliveries, retry outbox items
    MANAGE_TOKENS = "manage:tokens"


_TEAM = {Permission.READ, Permission.WRITE_HYPOTHESES, Permission.WRITE_ANSWERS}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "auditor": frozenset({Permission.READ}),
    "team": frozenset(_TEAM),
    "product-owner": frozenset(_TEAM | {Permission.WRITE_STAKEHOLDERS, Permission.WRITE_CHECKINS}),
    "admin": frozenset(Permission),
}
ROLES = tuple(ROLE_PERMISSIONS)


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(permission: Permission) -> list[str]:
    return [role for role in ROLES if allows(role, permission)]
