"""The rules' action context over the caller's session: how actions reach the outbox, the value log and state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules.context import RoundOpening
from rules.facts import Facts
from rules.scope import Scope
from service import once_keys, valuelog
from service.config import Settings
from service.domain import limits
from service.domain.keys import tracker_of
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.outbox.queue import enqueue
from service.storage.models import CheckinRound, Hypothesis
from service.summaries.compute import summarise
from service.summaries.formats import to_markdown

LOG_SOURCE = "rules"
SUMMARY_LIMIT = 30_000  # characters of a summary comment, below every tracker's limit


@dataclass(frozen=True)
class SessionContext:
    """`rules.context.ActionContext` in the caller's transaction (service.reactions runs each rule in a savepoint)."""

    session: Session
    scope: Scope
    rule_id: str
    cause: str
    settings: Settings
    taxonomy: Taxonomy

    @property
    def facts(self) -> Facts:
        return self.scope.facts

    @property
    def now(self) -> datetime:
        return self.scope.now

    @property
    def actor(self) -> str:
        """Who the rule's value-log entries name: `rule:<id>`."""
        return f"rule:{self.rule_id}"[: limits.ACTOR]

    def enqueue(self, *, tracker: str, action: str, target: str, body: Mapping[str, Any]) -> None:
        enqueue(self.session, tracker=tracker, action=action, target=target, body=dict(body), cause=self.cause)

    def log(self, kind: str, subject: str, data: Mapping[str, Any]) -> None:
        valuelog.append(self.session, kind=kind, subject=subject, data=dict(data), actor=self.actor, source=LOG_SOURCE)

    def summary(self, iteration: str) -> str:
        text = to_markdown(summarise(self.session, self.taxonomy, iteration, now=self.now))
        if len(text) <= SUMMARY_LIMIT:
            return text
        # Jira refuses comments over 32,767 characters (GitHub: 65,536): the whole summary stays one link away.
        link = f"{self.settings.base_url}/api/v1/iterations/{quote(iteration, safe='')}/summary?format=html"
        return text[: SUMMARY_LIMIT - 200].rsplit("\n", 1)[0] + f"\n\n... the summary goes on: {link}\n"

    def report_issue(self, tracker: str) -> str | None:
        return next((key for key in self.settings.report_issues if tracker_of(key) == tracker), None)

    def claim(self, key: str) -> bool:
        return once_keys.claim(self.session, key)

    def open_round(
        self,
        *,
        hypothesis_id: int,
        kind: str,
        iteration: str | None,
        deadline: datetime,
        unique_key: str,
        remind_at: datetime | None = None,
    ) -> RoundOpening:
        found = self._round_with(unique_key)
        if found is not None:
            return RoundOpening(found, opened=False)
        try:
            with self.session.begin_nested():  # another worker may open the same round between our read and insert
                row = CheckinRound(
                    hypothesis_id=hypothesis_id,
                    iteration_key=iteration,
                    kind=kind,
                    unique_key=unique_key,
                    status="open",
                    opened_at=self.now,
                    deadline=deadline,
                    remind_at=remind_at,
                )
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            # Committed by the other worker by now (PostgreSQL reports the conflict once the other one commits).
            found = self._round_with(unique_key)
            if found is None:
                raise  # not the unique key: a real error
            return RoundOpening(found, opened=False)
        epic = self.session.scalar(select(Hypothesis.epic_key).where(Hypothesis.id == hypothesis_id)) or ""
        data = {
            "round": row.id,
            "hypothesis": hypothesis_id,
            "iteration": iteration,
            "kind": kind,
            "deadline": deadline,
            "remind_at": remind_at,
            "rule": self.rule_id,
        }
        self.log(Kind.CHECKIN_OPENED, epic, data)
        return RoundOpening(row.id, opened=True)

    def _round_with(self, unique_key: str) -> int | None:
        return self.session.scalar(select(CheckinRound.id).where(CheckinRound.unique_key == unique_key))
