"""The check-in prompt or reminder a person receives, rendered at send time from the state as it is then.

The outbox row that sends it holds only the prompt's id: the name, the contacts and the personal link are read here,
when the message goes out, so an erased person is not written to, and no link is stored or shown by the outbox API.
The e-mail's text and HTML parts come from Jinja2 templates shipped in this package (the HTML part autoescaped);
the webhook payload follows Standard Webhooks' `{"type", "timestamp", "data"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import cache, cached_property, lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from integrations.failures import Rejected
from service.checkins import links
from service.checkins.answers import SCORES
from service.checkins.stakeholders import webhook_secret
from service.config import Settings
from service.domain.taxonomy import load_for
from service.storage.models import CheckinPrompt, CheckinRound, Hypothesis, Stakeholder, Ticket

QUESTION = (
    "Since the last check-in, has this work created value or taken value away, for you or the people you speak for?"
)
PROMPT_TYPE = "checkin.prompt"
REMINDER_TYPE = "checkin.reminder"
SUBJECT_STATEMENT = 60  # characters of the statement shown in a subject line


@dataclass(frozen=True)
class Message:
    """What one person is sent. Personal fields stay out of repr, so a logged message shows no contact or link."""

    prompt_id: int
    round_id: int
    stakeholder_id: int
    group: str
    reminder: bool
    subject: str
    event_type: str  # checkin.prompt | checkin.reminder
    name: str = field(repr=False)
    email: str | None = field(repr=False)
    webhook_url: str | None = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    # The person's link is signed when something that carries it is built, not before: a dry run records neither.
    sign_link: Callable[[], str] = field(repr=False)
    linkless_context: dict[str, Any] = field(repr=False)  # what the e-mail's two parts are rendered from, but the link
    linkless_data: dict[str, Any] = field(repr=False)  # the webhook payload's `data`, but the link

    @cached_property
    def link(self) -> str:
        return self.sign_link()

    # The link takes the place its key holds in the linkless dicts, so the payload's keys keep their order.
    @cached_property
    def context(self) -> dict[str, Any]:
        return {**self.linkless_context, "link": self.link}

    @cached_property
    def data(self) -> dict[str, Any]:
        return {**self.linkless_data, "link": self.link}

    # Rendered when an e-mail is built, not before: a dry run or a webhook needs neither part.
    @cached_property
    def text(self) -> str:
        return _templates().get_template("checkin_mail.txt").render(self.context)

    @cached_property
    def html(self) -> str:
        return _templates().get_template("checkin_mail.html").render(self.context)

    def webhook_payload(self, at: datetime) -> dict[str, Any]:
        return {"type": self.event_type, "timestamp": _rfc3339(at), "data": self.data}

    def described(self, channel: str) -> dict[str, Any]:
        """What would be sent, without the link, the address or the name (the dry run's record)."""
        shown: dict[str, Any] = {
            "channel": channel,
            "type": self.event_type,
            "to": f"stakeholder:{self.stakeholder_id} ({self.group})",
        }
        if channel == "email":
            shown.update(subject=self.subject, parts=["text/plain", "text/html"])
        else:
            shown.update(data={**self.linkless_data, "link": "(the person's own link, not recorded)"})
        return shown


@dataclass(frozen=True)
class Outgoing:
    """One message to send now: `delivery_id` is stable per outbox row, so a retry carries the same id."""

    message: Message
    delivery_id: str
    at: datetime


# A channel's send: the id the message went out under (Message-ID, webhook-id), or a failure from
# integrations/failures.py.
Send = Callable[[Outgoing], str | None]


def message_for(
    session: Session, settings: Settings, prompt_id: int, reminder: bool, now: datetime | None = None
) -> Message:
    """The message for a prompt (or its reminder); Rejected with the reason when there is no one to send it to."""
    with session.no_autoflush:  # a batch of rows is rendered at once: reading must not flush each one's update
        return _message_for(session, settings, prompt_id, reminder, now or datetime.now(UTC))


def _message_for(session: Session, settings: Settings, prompt_id: int, reminder: bool, moment: datetime) -> Message:
    what = "reminder" if reminder else "prompt"
    prompt = session.get(CheckinPrompt, prompt_id)
    if prompt is None:
        raise Rejected(f"check-in prompt {prompt_id} no longer exists (its round was deleted); nothing to send")
    round_ = session.get(CheckinRound, prompt.round_id)
    hypothesis = session.get(Hypothesis, round_.hypothesis_id) if round_ is not None else None
    if round_ is None or hypothesis is None:
        raise Rejected(f"the round of check-in prompt {prompt_id} no longer exists; nothing to send")
    person = session.get(Stakeholder, prompt.stakeholder_id) if prompt.stakeholder_id is not None else None
    if person is None or person.erased_at is not None:
        raise Rejected(f"the stakeholder of check-in prompt {prompt_id} was erased; no {what} is sent")
    if round_.status != "open":
        raise Rejected(f"round {round_.id} closed before the {what} could be sent")
    if round_.deadline is not None and moment > round_.deadline:
        raise Rejected(f"round {round_.id} passed its deadline before the {what} could be sent")
    if prompt.answered_at is not None or prompt.link_used_at is not None:
        raise Rejected(f"check-in prompt {prompt_id} was answered already; no {what} is needed")
    try:
        secret = webhook_secret(settings, person)
    except ValueError as exc:  # sealed under another PVM_SECRET_KEY: the stakeholder's secret must be set again
        secret = None
        if person.webhook_url:
            raise Rejected(f"stakeholder {person.id}'s webhook secret cannot be read: {exc}") from None
    prompt_id, nonce = prompt.id, prompt.nonce
    epic = session.get(Ticket, hypothesis.epic_key)
    epic_title = epic.title if epic is not None and epic.title else hypothesis.epic_key
    scores = [{"label": f"{score:+d}" if score else "0", "words": words} for score, words in sorted(SCORES.items())]
    statement = " ".join(hypothesis.statement.split())
    subject = _subject(statement, round_.deadline, reminder)
    context = {
        "name": person.name,
        "group": person.group,
        "group_words": _group_words(settings, person.group),
        "reminder": reminder,
        "subject": subject,
        "statement": hypothesis.statement.strip(),
        "epic_title": epic_title,
        "question": QUESTION,
        "scores": scores,
        "deadline_text": _deadline_text(round_.deadline),
        "link": None,  # signed when needed (Message.link)
        "contact": _contact(settings.mail_from),
    }
    data = {
        "round": round_.id,
        "hypothesis": {"id": hypothesis.id, "statement": hypothesis.statement, "epic": hypothesis.epic_key},
        "group": person.group,
        "deadline": _rfc3339(round_.deadline) if round_.deadline is not None else None,
        "link": None,  # signed when needed (Message.link)
        "question": QUESTION,
        "scores": {str(score): words for score, words in sorted(SCORES.items())},
    }
    return Message(
        prompt_id=prompt.id,
        round_id=round_.id,
        stakeholder_id=person.id,
        group=person.group,
        reminder=reminder,
        subject=subject,
        event_type=REMINDER_TYPE if reminder else PROMPT_TYPE,
        name=person.name,
        email=person.email,
        webhook_url=person.webhook_url,
        webhook_secret=secret,
        sign_link=lambda: links.url_of(settings, prompt_id, nonce),
        linkless_context=context,
        linkless_data=data,
    )


@lru_cache(maxsize=4)
def _contact(mail_from: str) -> str:
    # The address people may write back to; parsed once, not for every message of a batch.
    return parseaddr(mail_from)[1] or mail_from


@cache
def _templates() -> Environment:
    # Plain text must not be HTML-escaped ("&amp;" in a mail reader); the HTML part must be.
    return Environment(
        loader=PackageLoader("service.checkins", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _subject(statement: str, deadline: datetime | None, reminder: bool) -> str:
    short = statement if len(statement) <= SUBJECT_STATEMENT else statement[: SUBJECT_STATEMENT - 1].rstrip() + "…"
    by = f" by {deadline.day} {deadline:%B}" if deadline is not None else ""
    return f"{'Reminder: your' if reminder else 'Your'} view{by}, please: “{short}”"


def _deadline_text(deadline: datetime | None) -> str | None:
    if deadline is None:
        return None
    at = deadline.astimezone(UTC)
    return f"{at:%A} {at.day} {at:%B %Y}, {at:%H:%M} UTC"


def _group_words(settings: Settings, group: str) -> str | None:
    name = load_for(settings.rules_dir).groups.get(group)
    if not name:
        return None
    # "Citizens" reads "citizens" mid-sentence; "IT developers" keeps its capitals.
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
