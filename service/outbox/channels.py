"""E-mail and outbound webhook rows: their senders, pace, message, dry-run record and what a sent prompt sets.

A row is `tracker` "email" or "webhook", `action` "checkin_prompt" or "checkin_reminder", `target` `prompt:<id>`
and `body` `{"prompt": <id>}`, written by the rounds code. The dispatcher treats these rows as it treats tracker
rows (claims, leases, retries, dead rows, dry run); this module supplies what differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.checkins.mail import SmtpSender
from service.checkins.messages import Message, Send, message_for
from service.checkins.signed_webhooks import WebhookSender
from service.config import Settings
from service.outbox.markers import CHANNELS
from service.pinned_http import PinnedHttp
from service.storage.models import CheckinPrompt, CheckinRound, Hypothesis, OutboxItem, Stakeholder, Ticket

MAX_BATCH = 50  # rows one worker claims for a channel at once


class ChannelSender(Protocol):
    @property
    def channel(self) -> str: ...

    def batch(self) -> AbstractContextManager[Send]:
        """A send function for a few messages in a row (one SMTP connection for all of them)."""
        ...


def sender_for(settings: Settings, channel: str) -> ChannelSender | str:
    """The channel's sender, or why there is none (kept as the reason on `skipped` rows)."""
    if channel == "email":
        return SmtpSender.from_settings(settings)
    if channel == "webhook":
        return WebhookSender(PinnedHttp.from_settings(settings))
    return f"no sender for the channel {channel!r}; known: {', '.join(CHANNELS)}"


def rate(settings: Settings, channel: str) -> float:
    return settings.email_per_second if channel == "email" else settings.webhook_per_second


def batch_size(settings: Settings, channel: str, lease: timedelta) -> int:
    """About a second's worth of sends, and few enough that every one of them could time out within the lease."""
    by_rate = math.ceil(rate(settings, channel))
    by_lease = int(lease.total_seconds() // (3 * settings.outbound_timeout))
    return max(1, min(MAX_BATCH, by_rate, by_lease))


def delivery_id(row: OutboxItem) -> str:
    """Stable per row (its id and creation time, as the comment marker), so a retry is recognisable as the same:
    the webhook-id header, and the local part of the e-mail's Message-ID."""
    return f"pvm-outbox-{row.id}-{row.created_at:%Y%m%d%H%M%S%f}"


def preload(session: Session, rows: Sequence[OutboxItem]) -> list[object]:
    """Load what a batch's messages are made of in five queries, not five per row. The session keeps loaded objects
    only while something refers to them: the caller holds the returned list until the batch is rendered."""
    ids = [int(row.body["prompt"]) for row in rows if isinstance(row.body.get("prompt"), int)]
    if not ids:
        return []
    prompts = list(session.scalars(select(CheckinPrompt).where(CheckinPrompt.id.in_(ids))))
    rounds = list(session.scalars(select(CheckinRound).where(CheckinRound.id.in_({p.round_id for p in prompts}))))
    hypotheses = list(session.scalars(select(Hypothesis).where(Hypothesis.id.in_({r.hypothesis_id for r in rounds}))))
    epics = list(session.scalars(select(Ticket).where(Ticket.key.in_({h.epic_key for h in hypotheses}))))
    people = {p.stakeholder_id for p in prompts if p.stakeholder_id is not None}
    stakeholders = list(session.scalars(select(Stakeholder).where(Stakeholder.id.in_(people))))
    return [*prompts, *rounds, *hypotheses, *epics, *stakeholders]


def render(session: Session, settings: Settings, row: OutboxItem, now: datetime) -> Message:
    """The message, from the state as it is now; Rejected when there is nobody to send it to."""
    return message_for(session, settings, int(row.body["prompt"]), row.action == "checkin_reminder", now)


def record(session: Session, settings: Settings, row: OutboxItem, now: datetime) -> None:
    """Dry run: keep what would have been sent on the row, without the link, the address or the name."""
    message = render(session, settings, row, now)
    row.body = {**row.body, "recorded": message.described(row.tracker)}


def after_sent(session: Session, row: OutboxItem, now: datetime) -> None:
    """A prompt that went out is `sent_at` then (a reminder's own time is the rounds code's `reminded_at`)."""
    if row.action != "checkin_prompt":
        return
    prompt = session.get(CheckinPrompt, int(row.body["prompt"]))
    if prompt is not None and prompt.sent_at is None:
        prompt.sent_at = now
