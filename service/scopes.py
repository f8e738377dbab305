"""Token scopes: which project an object belongs to, and which objects a token limited to some projects may see.

A scope is a list of project keys as stakeholders' scopes name them (`github:acme/portal`, `github:acme` for every
repository of the owner, `jira:PRM`, `gitlab:group/project`); an empty scope means every project.

Each kind of object has one SQL filter here. Lists add it to their query, and an object reached by id is visible
exactly when its row passes the same filter (`shows`), so a list and a read by id can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, false, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.domain import keys
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Delivery,
    Epic,
    Hypothesis,
    Iteration,
    OutboxItem,
    Reading,
    Stakeholder,
    TicketIteration,
    ValueLogEntry,
)

# The same form as a stakeholder's scope entry (service/checkins/stakeholders.py), ASCII only: the stakeholder
# filter matches entries inside the stored JSON text, where other characters would be escaped.
ENTRY = re.compile(r"^(github|jira|gitlab):[!-~]+$")
_OWN_ITERATION = re.compile(r"^(?P<project>.+)/(?P<kind>milestone|iteration)/[^/]+$")
_ESCAPE = "\\"


class ScopeInvalid(ValueError):
    """A scope entry that names no project; the message shows the accepted form."""


def check_entry(entry: str) -> str:
    entry = entry.strip()
    if not ENTRY.match(entry) or "#" in entry or entry.endswith(("/", "-")):
        raise ScopeInvalid(
            f"{entry[:80]!r} is not a project: use github:owner/repo, github:owner, jira:PRM or gitlab:group/project"
        )
    return entry


def project_of(key: str) -> str | None:
    """The project of a ticket, epic or iteration key, or None when the key has no project of its own.

    Tickets and epics: `github:acme/portal#3` -> `github:acme/portal`, `jira:PRM-12` -> `jira:PRM`. Milestones and
    GitLab iterations belong to their repository or group: `github:acme/portal/milestone/3` -> `github:acme/portal`.
    A Jira sprint (`jira:sprint/37`) or a GitHub Projects iteration spans projects: None, see `Scope.iterations`.
    """
    tracker, sep, rest = key.partition(":")
    if not sep or not rest or tracker not in ("github", "gitlab", "jira"):
        return None
    if tracker == "jira":
        return keys.project_of(key) if "-" in rest and "/" not in rest else None
    if "#" in rest:
        return keys.project_of(key)
    own = _OWN_ITERATION.match(rest)
    if own is None or (tracker == "github" and own["kind"] == "iteration"):
        return None  # `github:node/<id>` (an issue known only by node id) or a Projects iteration
    return f"{tracker}:{own['project']}"


def _like(text: str) -> str:
    """`text` as a literal LIKE prefix: project keys may hold `_` (Jira) and `%`, which LIKE reads as wildcards."""
    return text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")


def _ancestors(entry: str) -> list[str]:
    """`github:acme/portal` -> [`github:acme`]: the broader entries that include it."""
    tracker, _, rest = entry.partition(":")
    parts = rest.split("/")
    return [f"{tracker}:{'/'.join(parts[:n])}" for n in range(1, len(parts))]


@dataclass(frozen=True)
class Scope:
    """The projects a token may see and write; empty = every project."""

    projects: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str] | None) -> Scope:
        return cls(tuple(dict.fromkeys(entries or ())))

    @property
    def everything(self) -> bool:
        return not self.projects

    def describe(self) -> str:
        return ", ".join(self.projects) if self.projects else "every project"

    # --- rules in Python ----------------------------------------------------------------------------------------

    def covers(self, project: str | None) -> bool:
        """A project is in scope when an entry names it or an owner or group above it."""
        if self.everything:
            return True
        if project is None:
            return False
        return any(project == entry or project.startswith(f"{entry}/") for entry in self.projects)

    def covers_key(self, key: str) -> bool:
        return self.covers(project_of(key))

    def includes(self, other: Scope) -> bool:
        """Whether `other` grants nothing beyond this scope (a scoped admin may only hand out narrower tokens)."""
        if self.everything:
            return True
        return not other.everything and all(self.covers(entry) for entry in other.projects)

    def overlaps(self, entries: Iterable[str] | None) -> bool:
        """A stakeholder's scope against the token's: an empty one follows every project, so everyone sees it."""
        wanted = list(entries or [])
        if self.everything or not wanted:
            return True
        return any(self.covers(entry) or Scope.of([entry]).covers(mine) for entry in wanted for mine in self.projects)

    # --- SQL filters, one per kind of object --------------------------------------------------------------------

    def keys(self, column: Any) -> ColumnElement[bool]:
        """Ticket, epic and own-project iteration keys in scope, by prefix: `github:acme/portal#`, `jira:PRM-`."""
        if self.everything:
            return true()
        clauses: list[ColumnElement[bool]] = []
        for entry in self.projects:
            if entry.startswith("jira:"):
                clauses.append(column.like(_like(f"{entry}-") + "%", escape=_ESCAPE))
                continue
            clauses.append(column.like(_like(f"{entry}#") + "%", escape=_ESCAPE))
            below = column.like(_like(f"{entry}/") + "%", escape=_ESCAPE)
            if entry.startswith("github:"):  # a Projects iteration has no repository, whatever its owner is called
                below = and_(below, ~column.like("github:project/%/iteration/%"))
            clauses.append(below)
        return or_(*clauses) if clauses else false()

    def subjects(self, column: Any) -> ColumnElement[bool]:
        """Keys in scope, and iterations without a project of their own that hold a ticket in scope."""
        if self.everything:
            return true()
        member = (
            select(TicketIteration.ticket_key)
            .where(TicketIteration.iteration_key == column, self.keys(TicketIteration.ticket_key))
            .exists()
        )
        return or_(self.keys(column), member)

    def epics(self) -> ColumnElement[bool]:
        return self.keys(Epic.key)

    def iterations(self) -> ColumnElement[bool]:
        return self.subjects(Iteration.key)

    def hypotheses(self) -> ColumnElement[bool]:
        return self.keys(Hypothesis.epic_key)

    def _hypothesis_ids(self) -> Any:
        return select(Hypothesis.id).where(self.hypotheses())

    def readings(self) -> ColumnElement[bool]:
        return true() if self.everything else Reading.hypothesis_id.in_(self._hypothesis_ids())

    def rounds(self) -> ColumnElement[bool]:
        return true() if self.everything else CheckinRound.hypothesis_id.in_(self._hypothesis_ids())

    def _round_ids(self) -> Any:
        return select(CheckinRound.id).where(self.rounds())

    def answers(self) -> ColumnElement[bool]:
        return true() if self.everything else CheckinAnswer.round_id.in_(self._round_ids())

    def stakeholders(self) -> ColumnElement[bool]:
        """A stakeholder with no scope, or one sharing a project with the token (matched in the stored JSON)."""
        if self.everything:
            return true()
        text = cast(Stakeholder.scope, String)
        clauses: list[ColumnElement[bool]] = [Stakeholder.scope.is_(None), text.in_(["[]", "null"])]
        for entry in self.projects:
            for same_or_broader in (entry, *_ancestors(entry)):
                clauses.append(text.like('%"' + _like(same_or_broader) + '"%', escape=_ESCAPE))
            clauses.append(text.like('%"' + _like(f"{entry}/") + "%", escape=_ESCAPE))
        return or_(*clauses)

    def outbox(self) -> ColumnElement[bool]:
        """Actions on a key in scope, and prompts (`prompt:<id>`) of rounds in scope."""
        if self.everything:
            return true()
        prompts = select(literal("prompt:") + cast(CheckinPrompt.id, String)).where(
            CheckinPrompt.round_id.in_(self._round_ids())
        )
        return or_(self.subjects(OutboxItem.target), OutboxItem.target.in_(prompts))

    def deliveries(self) -> ColumnElement[bool]:
        """By the ticket, epic or iteration the delivery changes; ignored deliveries have none: unscoped only."""
        if self.everything:
            return true()
        return and_(Delivery.partition_key.is_not(None), self.subjects(Delivery.partition_key))

    def log(self) -> ColumnElement[bool]:
        """Entries whose subject is in scope: a key, or an object named by id resolved through the state. Entries
        about tokens, or with a subject no project can be found for, are for unscoped tokens only."""
        if self.everything:
            return true()
        subject = ValueLogEntry.subject

        def named(prefix: str, column: Any, where: ColumnElement[bool]) -> ColumnElement[bool]:
            return subject.in_(select(literal(prefix) + cast(column, String)).where(where))

        return or_(
            self.subjects(subject),
            named("hypothesis:", Hypothesis.id, self.hypotheses()),
            named("checkin-round:", CheckinRound.id, self.rounds()),
            named("stakeholder:", Stakeholder.id, self.stakeholders()),
            named("outbox:", OutboxItem.id, self.outbox()),
            named("delivery:", Delivery.id, self.deliveries()),
        )

    # --- one object ---------------------------------------------------------------------------------------------

    def shows(self, session: Session, row: Any) -> bool:
        """Whether one object is visible: its row passes the filter its list uses."""
        if self.everything:
            return True
        model = type(row)
        filters = {
            Epic: self.epics,
            Iteration: self.iterations,
            Hypothesis: self.hypotheses,
            Reading: self.readings,
            CheckinRound: self.rounds,
            CheckinAnswer: self.answers,
            Stakeholder: self.stakeholders,
            OutboxItem: self.outbox,
            Delivery: self.deliveries,
            ValueLogEntry: self.log,
        }
        if model not in filters:
            raise TypeError(f"no scope rule for {model.__name__}")
        primary = model.__mapper__.primary_key[0]
        found = session.scalar(select(primary).where(primary == getattr(row, primary.key), filters[model]()).limit(1))
        return found is not None
