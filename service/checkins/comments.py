"""`/value` comments: developers (and anyone with a tracker account) answer check-ins where they work.

    /value <score> [dimension] ["what you saw"] [h<hypothesis id>]
    /value +1 accessibility-inclusion "screen reader flow done"

A known stakeholder's comment on an epic, or on any ticket of it, counts in the open round of that epic's
hypothesis (`h7` picks one when several are open). Anything that cannot count gets one reply saying why and how,
once per comment however often the tracker sends it (Jira sends a comment with the issue update and on its own).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import once_keys, valuelog
from service.checkins import answers
from service.config import Settings
from service.domain import once
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import Comment
from service.domain.taxonomy import Taxonomy
from service.outbox.queue import enqueue
from service.storage.models import CheckinRound, Epic, Hypothesis, Stakeholder, Ticket

SYNTAX = '/value <score from -2 to +2> [dimension] ["what you saw"] [h<hypothesis id>]'
EXAMPLE = '/value +1 accessibility-inclusion "screen reader flow done"'
_COMMAND = re.compile(r"^[ \t>]*/value\b(?P<rest>[^\n]*)$", re.IGNORECASE | re.MULTILINE)
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
_HYPOTHESIS = re.compile(r"^(?:h|hypothesis:)(\d{1,9})$", re.IGNORECASE)
_SCORE = re.compile(r"^[+-]?\d+$")
_ACCOUNT = {"github": "GitHub login", "jira": "Jira account id"}


@dataclass(frozen=True)
class Command:
    score: str
    dimension: str | None = None
    text: str | None = None
    hypothesis: int | None = None


class CommandInvalid(ValueError):
    pass


def find_command(body: str) -> str | None:
    """The arguments of the first `/value` line, or None when the comment holds none."""
    found = _COMMAND.search(body or "")
    return found.group("rest").strip() if found else None


def parse_command(arguments: str) -> Command:
    try:
        words = shlex.split(arguments.translate(_QUOTES))
    except ValueError:
        raise CommandInvalid("a quote is not closed") from None
    if not words or not _SCORE.match(words[0]):
        raise CommandInvalid("it must start with a score")
    score, dimension, text, hypothesis = words[0], None, None, None
    for word in words[1:]:
        picked = _HYPOTHESIS.match(word)
        if picked and hypothesis is None:
            hypothesis = int(picked.group(1))
        elif dimension is None and text is None and " " not in word and word == word.lower() and len(word) <= 100:
            dimension = word
        elif text is None:
            text = word
        else:
            raise CommandInvalid(f"{word!r} is one word too many; put the text in quotes")
    return Command(score, dimension, text, hypothesis)


def on_comment(session: Session, settings: Settings, taxonomy: Taxonomy, event: Event) -> list[Event]:
    """A `checkin.answered` event when the comment answers a check-in; else a reply (once) or nothing at all."""
    comment = event.data
    if not isinstance(comment, Comment):
        return []
    arguments = find_command(comment.body)
    if arguments is None:
        return []
    if not once_keys.claim(session, once.key("value.comment", event.source, comment.comment_id)):
        return []  # the same comment again (redelivered, or sent twice by the tracker): counted or answered once

    def reply(text: str, reason: str) -> list[Event]:
        enqueue(
            session,
            tracker=event.source,
            action="comment",
            target=event.subject,
            body={"text": text},
            cause=f"comment:{comment.comment_id}",
        )
        data = {"comment": comment.comment_id, "ticket": event.subject, "reason": reason}
        valuelog.append(
            session, kind=Kind.CHECKIN_REFUSED, subject=event.subject, data=data, actor=event.actor, source=event.source
        )
        return []

    person = _stakeholder(session, event.source, comment.author)
    if person is None:
        return reply(
            "Thank you: this `/value` answer is not counted, because your account is not one of this project's "
            f"stakeholders. Ask the product owner to add you with your {_ACCOUNT.get(event.source, 'account')} "
            "(`pvm stakeholder add`, or the Stakeholders page), then answer again."
            + (
                ""
                if event.source in _ACCOUNT
                else " On this tracker, answers are taken from stakeholders' e-mail links."
            ),
            "not a stakeholder",
        )
    try:
        command = parse_command(arguments)
        fields = answers.parse({"score": command.score, "dimension": command.dimension, "text": command.text}, taxonomy)
    except (CommandInvalid, answers.AnswerInvalid) as exc:
        return reply(
            f"This `/value` answer cannot be read: {exc}.\n\nWrite it as `{SYNTAX}`, e.g. `{EXAMPLE}`", str(exc)
        )
    rounds = _open_rounds(session, event.subject)
    if command.hypothesis is not None:
        rounds = [r for r in rounds if r.hypothesis_id == command.hypothesis]
    if not rounds:
        where = f"hypothesis {command.hypothesis}" if command.hypothesis else "this epic's hypotheses"
        return reply(
            f"There is no open check-in round for {where} right now, so this answer is not counted.", "no round"
        )
    if len(rounds) > 1:
        choices = ", ".join(f"h{r.hypothesis_id}" for r in rounds)
        return reply(
            f"Several hypotheses are being checked here ({choices}): say which, e.g. `/value {command.score} "
            f"h{rounds[0].hypothesis_id}`.",
            "several rounds",
        )
    recorded = answers.record(
        session,
        settings,
        rounds[0],
        fields,
        group=person.group,
        channel=event.source,
        actor=event.actor,
        stakeholder=person,
    )
    return [recorded.event]


def _stakeholder(session: Session, source: str, author: str | None) -> Stakeholder | None:
    if not author:
        return None
    account = author.removeprefix(f"{source}:")
    column = {"github": Stakeholder.github, "jira": Stakeholder.jira}.get(source)
    if column is None:
        return None
    match = func.lower(column) == account.lower() if source == "github" else column == account
    return session.scalars(select(Stakeholder).where(match, Stakeholder.erased_at.is_(None)).limit(1)).first()


def _open_rounds(session: Session, ticket_key: str) -> list[CheckinRound]:
    """Open rounds of the hypotheses of the epic the ticket is (or belongs to)."""
    ticket = session.get(Ticket, ticket_key)
    epic = ticket_key if session.get(Epic, ticket_key) is not None else (ticket.epic_key if ticket else None)
    if epic is None:
        return []
    return list(
        session.scalars(
            select(CheckinRound)
            .join(Hypothesis, Hypothesis.id == CheckinRound.hypothesis_id)
            .where(Hypothesis.epic_key == epic, CheckinRound.status == "open")
            .order_by(CheckinRound.id)
        )
    )
