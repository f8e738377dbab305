"""Check-in rounds over time: ask everyone due, remind those who have not answered (once), close at the deadline.

The clock calls `run_due` every minute. Each unit of work (a person asked in a round, a prompt reminded, a round
closed) is done in one transaction together with its once-key (`prompt:<round>:<person>`, `remind:<prompt>`,
`close:<round>`, in the `once_keys` table), so two clocks, a restart mid-round or a clock that was down for an
hour neither lose nor double any of them: the key and the work commit together or not at all.

People are asked through their channel (service/checkins/stakeholders.py `channel_for`): tracker users in ONE
comment per round on the epic that mentions them all, with the `/value` syntax; e-mail and webhook through the
outbox (the message, with each person's own link, is rendered when it is sent); link-only people through the link
the product owner hands over. A round is never prompted while its iteration is not running.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from service import once_keys, reactions, sealing, valuelog
from service.checkins import stakeholders
from service.checkins.comments import EXAMPLE, SYNTAX
from service.checkins.messages import QUESTION
from service.config import Settings
from service.domain import keys, once
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import CheckinChange
from service.facts import ACTIVE_STATUSES
from service.outbox.queue import enqueue
from service.runtime import Runtime
from service.storage.models import (
    CheckinPrompt,
    CheckinRound,
    Hypothesis,
    Iteration,
    OutboxItem,
    Stakeholder,
    Ticket,
)

log = logging.getLogger(__name__)

CLOCK = "clock"
MESSAGE_CHANNELS = ("email", "webhook")  # sent through the outbox, one row per person
_PROMPTS = cast(Table, CheckinPrompt.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)


@dataclass
class Tally:
    prompted: int = 0
    reminded: int = 0
    closed: int = 0
    unreachable: int = 0
    firings: list[reactions.Firing] = field(default_factory=list)

    @property
    def work(self) -> int:
        return self.prompted + self.reminded + self.closed + self.unreachable


def run_due(runtime: Runtime, now: datetime | None = None) -> Tally:
    """Everything due at `now`, one round per transaction, so one round's trouble does not hold up the others."""
    moment = now or datetime.now(UTC)
    tally = Tally()
    with runtime.transaction() as session:
        open_rounds = list(
            session.scalars(select(CheckinRound.id).where(CheckinRound.status == "open").order_by(CheckinRound.id))
        )
    for round_id in open_rounds:
        try:
            with runtime.transaction() as session:
                round_ = session.get(CheckinRound, round_id)
                if round_ is None or round_.status != "open":
                    continue
                if round_.deadline is not None and round_.deadline <= moment:
                    tally.firings += close(session, runtime.settings, round_, moment)
                    tally.closed += 1 if round_.status == "closed" else 0
                    continue
                hypothesis = askable(session, round_)
                if hypothesis is None:
                    continue
                found = stakeholders.recipients(session, hypothesis)
                tally.unreachable += note_unreachable(session, round_, hypothesis, found.unreachable)
                tally.prompted += prompt(session, runtime.settings, round_, hypothesis, found.people, moment)
                if round_.remind_at is not None and round_.remind_at <= moment:
                    tally.reminded += remind(session, runtime.settings, round_, hypothesis, moment)
        except Exception:  # one round's failure is logged and retried at the next tick; the others go on
            log.exception("check-ins: round %s could not be handled; trying again at the next tick", round_id)
    if tally.work:
        log.info(
            "check-ins: %d asked, %d reminded, %d rounds closed, %d groups unreachable",
            tally.prompted,
            tally.reminded,
            tally.closed,
            tally.unreachable,
        )
    return tally


def askable(session: Session, round_: CheckinRound) -> Hypothesis | None:
    """The round's hypothesis when the round may ask now, else None. An iteration round asks only while its iteration
    runs (not before it starts, nor once it is closed or deleted); an ex-post round asks right away. A hypothesis no
    longer pursued is not asked about."""
    hypothesis = session.get(Hypothesis, round_.hypothesis_id)
    if hypothesis is None or hypothesis.status not in ACTIVE_STATUSES:
        return None
    if round_.iteration_key is None:
        return hypothesis
    iteration = session.get(Iteration, round_.iteration_key)
    return hypothesis if iteration is not None and iteration.state == "active" else None


def note_unreachable(session: Session, round_: CheckinRound, hypothesis: Hypothesis, groups: list[str]) -> int:
    """Groups the hypothesis names with nobody to ask: recorded once each, so a summary can say who was not asked."""
    noted = 0
    for group in groups:
        if not once_keys.claim(session, once.key("checkin.unreachable", round_.id, group)):
            continue
        round_.unreachable_groups = [*(round_.unreachable_groups or []), group]
        data = {"round": round_.id, "hypothesis": hypothesis.id, "iteration": round_.iteration_key, "group": group}
        valuelog.append(
            session, kind=Kind.CHECKIN_UNREACHABLE, subject=_subject(round_), data=data, actor=CLOCK, source=CLOCK
        )
        noted += 1
    return noted


def prompt(
    session: Session,
    settings: Settings,
    round_: CheckinRound,
    hypothesis: Hypothesis,
    people: list[Stakeholder],
    now: datetime,
) -> int:
    """Ask everyone due in the round who has not been asked yet; how many were asked."""
    # One statement per kind of row for the whole round (a round may ask thousands of people), written with Core:
    # nothing reads these rows back as objects in this transaction.
    keys_of = {person.id: once.key("prompt", round_.id, person.id) for person in people}
    claimed = once_keys.claim_many(session, list(keys_of.values()))
    due = [person for person in people if keys_of[person.id] in claimed]
    if not due:
        return 0
    session.flush()  # the round's own changes first (its unreachable groups)
    connection = session.connection()
    channels = [stakeholders.channel_for(person, hypothesis.epic_key) for person in due]
    ids = list(
        connection.execute(
            insert(_PROMPTS).returning(_PROMPTS.c.id, sort_by_parameter_order=True),
            [
                {
                    "round_id": round_.id,
                    "stakeholder_id": person.id,
                    "group": person.group,
                    "channel": channel,
                    "nonce": secrets.token_urlsafe(32),
                    "sent_at": now if channel == "link" else None,  # a link the product owner hands over: not sent
                }
                for person, channel in zip(due, channels, strict=True)
            ],
        ).scalars()
    )
    messages = [
        (prompt_id, channel) for prompt_id, channel in zip(ids, channels, strict=True) if channel in MESSAGE_CHANNELS
    ]
    if messages:
        outbox_ids = list(connection.execute(
            insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True),
            [
                {"tracker": channel, "action": "checkin_prompt", "target": f"prompt:{prompt_id}",
                 "body": {"prompt": prompt_id}, "cause": _subject(round_), "status": "pending"}
                for prompt_id, channel in messages
            ],
        ).scalars())  # fmt: skip
        connection.execute(
            update(_PROMPTS).where(_PROMPTS.c.id == bindparam("prompt")).values(outbox_id=bindparam("outbox")),
            [
                {"prompt": prompt_id, "outbox": outbox_id}
                for (prompt_id, _), outbox_id in zip(messages, outbox_ids, strict=True)
            ],
        )
    valuelog.append_many(
        session,
        [
            _prompt_entry(settings, Kind.CHECKIN_PROMPTED, round_, person, prompt_id, channel)
            for person, prompt_id, channel in zip(due, ids, channels, strict=True)
        ],
    )
    mentioned = [
        (person, prompt_id)
        for person, prompt_id, channel in zip(due, ids, channels, strict=True)
        if channel == "tracker"
    ]
    if mentioned:
        comment = enqueue(
            session,
            tracker=keys.tracker_of(hypothesis.epic_key),
            action="comment",
            target=hypothesis.epic_key,
            body={"text": _comment(session, hypothesis, round_, [p for p, _ in mentioned], reminder=False)},
            cause=_subject(round_),
        )
        connection.execute(
            update(_PROMPTS)
            .where(_PROMPTS.c.id.in_([prompt_id for _, prompt_id in mentioned]))
            .values(outbox_id=comment.id)
        )
    return len(due)


def remind(session: Session, settings: Settings, round_: CheckinRound, hypothesis: Hypothesis, now: datetime) -> int:
    """Remind, once each, everyone asked who has not answered and can be reached again; how many."""
    due = session.execute(
        select(CheckinPrompt, Stakeholder)
        .join(Stakeholder, Stakeholder.id == CheckinPrompt.stakeholder_id)
        .where(
            CheckinPrompt.round_id == round_.id,
            CheckinPrompt.answered_at.is_(None),
            CheckinPrompt.reminded_at.is_(None),
            CheckinPrompt.channel != "link",  # the product owner follows those up in person
            Stakeholder.erased_at.is_(None),
        )
        .order_by(CheckinPrompt.id)
    ).all()
    claimed = once_keys.claim_many(session, [once.key("remind", row.id) for row, _ in due])
    reachable = [(row, person) for row, person in due if once.key("remind", row.id) in claimed]
    mentioned: list[tuple[Stakeholder, CheckinPrompt]] = []
    entries: list[valuelog.Pending] = []
    for row, person in reachable:
        row.reminded_at = now
        if row.channel in MESSAGE_CHANNELS:
            item = enqueue(
                session,
                tracker=row.channel,
                action="checkin_reminder",
                target=f"prompt:{row.id}",
                body={"prompt": row.id},
                cause=_subject(round_),
            )
            row.reminder_outbox_id = item.id
        else:
            mentioned.append((person, row))
        entries.append(_prompt_entry(settings, Kind.CHECKIN_REMINDED, round_, person, row.id, row.channel))
    valuelog.append_many(session, entries)
    if mentioned:
        comment = enqueue(
            session,
            tracker=keys.tracker_of(hypothesis.epic_key),
            action="comment",
            target=hypothesis.epic_key,
            body={"text": _comment(session, hypothesis, round_, [p for p, _ in mentioned], reminder=True)},
            cause=_subject(round_),
        )
        for _, row in mentioned:
            row.reminder_outbox_id = comment.id
    return len(reachable)


def close(session: Session, settings: Settings, round_: CheckinRound, now: datetime) -> list[reactions.Firing]:
    """Close the round with its response rate and let the rules react to `checkin.closed`, in this transaction."""
    if not once_keys.claim(session, once.key("close", round_.id)):
        return []
    asked = session.scalar(select(func.count()).where(CheckinPrompt.round_id == round_.id)) or 0
    answered = (
        session.scalar(
            select(func.count()).where(CheckinPrompt.round_id == round_.id, CheckinPrompt.answered_at.is_not(None))
        )
        or 0
    )
    round_.status, round_.closed_at = "closed", now
    round_.response_rate = answered / asked if asked else None
    data = {
        "round": round_.id,
        "hypothesis": round_.hypothesis_id,
        "iteration": round_.iteration_key,
        "asked": asked,
        "answered": answered,
        "response_rate": round_.response_rate,
        "unreachable_groups": list(round_.unreachable_groups or []),
    }
    valuelog.append(session, kind=Kind.CHECKIN_CLOSED, subject=_subject(round_), data=data, actor=CLOCK, source=CLOCK)
    payload = CheckinChange(round=round_.id, hypothesis=round_.hypothesis_id, iteration=round_.iteration_key)
    event = Event(Kind.CHECKIN_CLOSED, CLOCK, _subject(round_), CLOCK, now, payload)
    return reactions.react(session, [event], settings=settings, now=now, cause=_subject(round_))


def _subject(round_: CheckinRound) -> str:
    return f"checkin-round:{round_.id}"


def _prompt_entry(
    settings: Settings, kind: str, round_: CheckinRound, person: Stakeholder, prompt_id: int, channel: str
) -> valuelog.Pending:
    contact = {"email": person.email, "webhook": person.webhook_url, "tracker": person.github or person.jira}
    data = {
        "round": round_.id,
        "hypothesis": round_.hypothesis_id,
        "iteration": round_.iteration_key,
        "prompt": prompt_id,
        "stakeholder": person.id,
        "group": person.group,
        "channel": channel,
        # A commitment to how the person was reached, never the address itself (it stays erasable).
        "contact": sealing.commit(settings, contact.get(channel)),
    }
    return valuelog.Pending(kind, _subject(round_), data, CLOCK, CLOCK)


def _mention(person: Stakeholder, tracker: str) -> str:
    if tracker == "jira" and person.jira:
        return f"[~accountid:{person.jira}]"
    return f"@{person.github}"


def _comment(
    session: Session, hypothesis: Hypothesis, round_: CheckinRound, people: list[Stakeholder], *, reminder: bool
) -> str:
    tracker = keys.tracker_of(hypothesis.epic_key)
    who = " ".join(_mention(person, tracker) for person in people)
    iteration = session.get(Iteration, round_.iteration_key) if round_.iteration_key else None
    ticket = session.get(Ticket, hypothesis.epic_key)
    when = f"in {iteration.name or iteration.key}" if iteration else "now that the epic is closed"
    deadline = f"{round_.deadline:%Y-%m-%d %H:%M} UTC" if round_.deadline else "the end of the round"
    opening = "A reminder: we have not heard from you yet." if reminder else "Check-in time."
    about = "this epic" if ticket is None else repr(ticket.title)
    return (
        f"{who} {opening} About the work {when} on {about}: {QUESTION}\n\n"
        f"> {hypothesis.statement}\n\n"
        "Answer with a comment here (or on any ticket of this epic), a score from -2 (value destroyed) to +2 "
        f"(value clearly created):\n\n`{SYNTAX}`\n\nfor example `{EXAMPLE}`"
        f"{f' (add `h{hypothesis.id}`)' if _several_rounds(session, hypothesis) else ''}. "
        f"Please answer by {deadline}. Who is worse off, or not represented? Say so in the text."
    )


def _several_rounds(session: Session, hypothesis: Hypothesis) -> bool:
    open_rounds = session.scalar(
        select(func.count())
        .select_from(CheckinRound)
        .join(Hypothesis, Hypothesis.id == CheckinRound.hypothesis_id)
        .where(Hypothesis.epic_key == hypothesis.epic_key, CheckinRound.status == "open")
    )
    return bool(open_rounds and open_rounds > 1)
