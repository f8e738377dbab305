"""Test helper: a check-in prompt as the rounds code leaves it, with the outbox row that sends it (the contract)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service import sealing
from service.config import Settings
from service.outbox import enqueue
from service.storage.models import CheckinPrompt, CheckinRound, Epic, Hypothesis, OutboxItem, Stakeholder
from tests.epics import add_epic

EPIC = "github:city-council/permits#12"
STATEMENT = "We believe publishing the refusal rules for applicants will result in fewer appeals"


@dataclass(frozen=True)
class Queued:
    prompt_id: int
    outbox_id: int
    stakeholder_id: int
    round_id: int
    secret: str | None


def queue_prompt(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    channel: str = "email",
    name: str = "Ana Pérez",
    group: str = "citizen",
    email: str | None = "ana@city.example",
    webhook_url: str | None = None,
    statement: str = STATEMENT,
    deadline: timedelta | None = timedelta(days=3),
    reminder: bool = False,
) -> Queued:
    """A person, a round for a hypothesis on EPIC, their prompt, and the outbox row the rounds code writes.

    The person is written directly, as a URL saved earlier would be (the guard at send time is what is tested)."""
    if session.get(Epic, EPIC) is None:
        add_epic(session, EPIC, title="Publish the refusal rules")
    hypothesis = Hypothesis(epic_key=EPIC, statement=statement, dimensions=["transparency"], stakeholders=[group])
    session.add(hypothesis)
    session.flush()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode() if webhook_url else None
    person = Stakeholder(
        name=name,
        group=group,
        email=email,
        webhook_url=webhook_url,
        webhook_secret=sealing.seal(settings, secret) if secret else None,
        scope=[],
    )
    session.add(person)
    session.flush()
    round_ = CheckinRound(
        hypothesis_id=hypothesis.id,
        iteration_key="github:city-council/permits/milestone/3",
        unique_key=f"test:{secrets.token_hex(8)}",
        opened_at=now,
        deadline=now + deadline if deadline is not None else None,
    )
    session.add(round_)
    session.flush()
    prompt = CheckinPrompt(
        round_id=round_.id, stakeholder_id=person.id, group=group, channel=channel, nonce=secrets.token_urlsafe(24)
    )
    session.add(prompt)
    session.flush()
    row = enqueue_for(session, prompt, channel, reminder=reminder, now=now)
    return Queued(prompt.id, row.id, person.id, round_.id, secret)


def enqueue_for(
    session: Session, prompt: CheckinPrompt, channel: str, *, reminder: bool = False, now: datetime
) -> OutboxItem:
    """The contract: one row, `prompt:<id>`, `{"prompt": id}`, no personal data and no link."""
    action = "checkin_reminder" if reminder else "checkin_prompt"
    row = enqueue(
        session,
        tracker=channel,
        action=action,
        target=f"prompt:{prompt.id}",
        body={"prompt": prompt.id},
        cause=f"round:{prompt.round_id}",
    )
    row.created_at = row.next_attempt_at = now
    if reminder:
        prompt.reminder_outbox_id = row.id
    else:
        prompt.outbox_id = row.id
    session.flush()
    return row
