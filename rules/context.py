"""The action context: everything an action may see and do, as an interface that `service/` implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rules.facts import Facts
from rules.scope import Scope


@dataclass(frozen=True)
class RoundOpening:
    """The check-in round with a unique key, and whether this call opened it (False: it was open already)."""

    round_id: int
    opened: bool


class ActionContext(Protocol):
    """What an action gets in `run(ctx)`: its only way to the outbox, the value log and state.

    Implemented by `service.rule_context.SessionContext`. Everything happens in the transaction of the event that
    fired the rule, inside the rule's own savepoint: an action that raises undoes what the rule did before it, and
    the firing is recorded as `rule.failed`.
    """

    @property
    def rule_id(self) -> str:
        """The id of the rule being run."""

    @property
    def cause(self) -> str:
        """What outbound actions are traced back to: `rule:<id>`, then the delivery or schedule behind it."""

    @property
    def scope(self) -> Scope:
        """The event, the facts and the time, as the rule's conditions and templates see them."""

    @property
    def facts(self) -> Facts:
        """Named questions about the current state (`rules.facts.CATALOGUE`), from the event's point of view."""

    @property
    def now(self) -> datetime:
        """The time the rule runs at (UTC); deadlines are counted from it."""

    def enqueue(self, *, tracker: str, action: str, target: str, body: Mapping[str, Any]) -> None:
        """Queue an outbound action (`comment`, `add_label`, ...) on `target`; the worker sends it after commit."""

    def log(self, kind: str, subject: str, data: Mapping[str, Any]) -> None:
        """Append a value-log entry about `subject`, with the rule (`rule:<id>`) as actor and `rules` as source."""

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
        """Open a check-in round unless one with `unique_key` exists; an opening is logged as `checkin.opened`.

        The clock asks its stakeholders, reminds those who have not answered at `remind_at` (once), and closes it at
        `deadline` with its response rate.
        """

    def summary(self, iteration: str) -> str:
        """The sprint value summary of `iteration` as Markdown, as it stands now (for a tracker comment)."""

    def report_issue(self, tracker: str) -> str | None:
        """The issue or ticket the operator named for summaries on this tracker (PVM_REPORT_ISSUES), if any."""

    def claim(self, key: str) -> bool:
        """Claim a once-key: True the first time, False ever after (also for another rule or worker).

        Keys are shared by every rule and action: build them with `service.domain.once.key("<your action>", ...)`.
        A claim is undone with the rest of the rule when an action fails.
        """
