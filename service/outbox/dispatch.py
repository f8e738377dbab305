"""The outbox dispatcher: claims due rows with a lease and acts on the trackers, exactly once per comment; sends
check-in prompts and reminders by e-mail and outbound webhook.

Statuses: pending -> sending (leased) -> sent | recorded (dry run) | skipped (tracker not configured) |
failed (retried with backoff and jitter) -> dead (after MAX_ATTEMPTS, or at once for wrong credentials and
refusals). Claims, leases, backoff and dead rows are the work queue's (service/workqueue.py), as in the inbox.
A worker that dies mid-send leaves its row `sending`; once the lease expires another worker takes it over and,
because the first may have reached the tracker, looks for the comment's marker before posting.

Trackers are written one at a time, a second apart; e-mail and webhooks go out in small batches at their channel's
rate (service/outbox/pacing.py). Their message is rendered from the state when the batch is claimed
(service/outbox/channels.py), so a person erased since the row was queued is not written to.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.base import TrackerClient
from integrations.failures import RateLimited, Rejected, TrackerFailure, Transient, Unauthorised
from service.checkins.messages import Outgoing
from service.outbox import channels, markers, pacing
from service.outbox.backoff import BACKOFF, MAX_ATTEMPTS, next_attempt, tracker_wait
from service.outbox.clients import client_for
from service.runtime import Runtime
from service.storage.models import OutboxItem, utcnow
from service.workqueue import WorkQueue

log = logging.getLogger(__name__)

FINAL = ("sent", "recorded", "skipped", "dead")
LEASE = timedelta(minutes=5)  # well above a send: a few calls, each with a 20 s read timeout
BATCH = 100  # rows skipped or recorded per tracker per pass (no network involved)
# No partition key: writes to one tracker already go one at a time (pacing), in the order rows fall due.
QUEUE = WorkQueue(OutboxItem, leased="sending", lease=LEASE, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)


@dataclass(frozen=True)
class Claim:
    """A leased row, detached from its session: what the send needs, and the lease that proves ownership."""

    id: int
    tracker: str
    action: str
    target: str
    body: dict[str, object]
    marker: str
    maybe_sent: bool
    attempts: int
    lease_until: datetime
    cause: str | None
    problem: str | None  # why the body cannot be sent at all (a bug upstream), checked before any request


@dataclass
class Sent:
    external_id: str | None
    note: str | None = None


@dataclass
class Dispatcher:
    """One per process and database; `clock` and `rng` are injected so tests control time and jitter."""

    runtime: Runtime
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    clients: Callable[[str], TrackerClient | str] | None = None
    senders: Callable[[str], channels.ChannelSender | str] | None = None
    max_attempts: int = MAX_ATTEMPTS
    lease: timedelta = LEASE
    _cache: dict[str, TrackerClient | str] = field(default_factory=dict)
    _senders: dict[str, channels.ChannelSender | str] = field(default_factory=dict)
    queue: WorkQueue[OutboxItem] = field(init=False)

    def __post_init__(self) -> None:
        self.queue = replace(QUEUE, lease=self.lease, max_attempts=self.max_attempts)

    def client(self, tracker: str) -> TrackerClient | str:
        if tracker not in self._cache:
            resolve = self.clients or (lambda t: client_for(self.runtime.settings, t))
            try:
                self._cache[tracker] = resolve(tracker)
            except Exception as exc:  # e.g. a malformed private key: say so on the rows rather than crash every pass
                log.exception("outbox: cannot create the %s client", tracker)
                self._cache[tracker] = f"cannot create the {tracker} client ({type(exc).__name__}); check its settings"
        return self._cache[tracker]

    def sender(self, channel: str) -> channels.ChannelSender | str:
        if channel not in self._senders:
            resolve = self.senders or (lambda c: channels.sender_for(self.runtime.settings, c))
            try:
                self._senders[channel] = resolve(channel)
            except Exception as exc:
                log.exception("outbox: cannot create the %s sender", channel)
                self._senders[channel] = (
                    f"cannot create the {channel} sender ({type(exc).__name__}); check its settings"
                )
        return self._senders[channel]

    @property
    def recording(self) -> bool:
        return self.runtime.settings.outbound == "record"

    def dispatch_due(self) -> int:
        """One pass: settle rows that need no network, claim one write per tracker and a paced batch per channel,
        send the claims."""
        now = self.clock()
        done, claims, batches = 0, [], []
        with self.runtime.transaction() as session:
            trackers = session.scalars(select(OutboxItem.tracker).where(self.queue.due(now)).distinct()).all()
            for tracker in sorted(trackers):
                if tracker in markers.CHANNELS:
                    settled, batch = self._channel_pass(session, tracker, now)
                    done += settled
                    if batch:
                        batches.append((tracker, batch))
                    continue
                client = self.client(tracker)
                if isinstance(client, str):
                    done += self._settle(session, tracker, now, "skipped", client)
                elif self.recording:
                    done += self._settle(session, tracker, now, "recorded", None, client)
                else:
                    claim = self._claim(session, tracker, now)
                    if claim is not None:
                        claims.append(claim)
        for claim in claims:
            self._send(claim)
        for channel, batch in batches:
            self._send_batch(channel, batch)
        return done + len(claims) + sum(len(batch) for _, batch in batches)

    def _rows(self, session: Session, tracker: str, now: datetime, limit: int) -> list[OutboxItem]:
        return self.queue.select_due(
            session,
            now,
            limit=limit,
            where=[OutboxItem.tracker == tracker],
            order_by=[OutboxItem.next_attempt_at, OutboxItem.id],
        )

    def _settle(
        self,
        session: Session,
        tracker: str,
        now: datetime,
        status: str,
        reason: str | None,
        recorder: TrackerClient | None = None,
    ) -> int:
        rows = self._rows(session, tracker, now, BATCH)
        for row in rows:
            problem = markers.body_problem(row)
            row.attempts += 1
            row.lease_until, row.finished_at = None, now
            if problem is not None:
                row.status, row.error = "dead", problem
            elif recorder is not None:
                _perform(recorder, _claim_of(row, now))
                row.status, row.error = "recorded", None
            else:
                row.status, row.error = status, reason
            _log_settled(row)
        return len(rows)

    def _claim(self, session: Session, tracker: str, now: datetime) -> Claim | None:
        lease_until = now + self.lease
        if not pacing.take_slot(session, tracker, now, lease_until, "a write is in flight"):
            return None
        rows = self._rows(session, tracker, now, 1)
        if not rows:
            pacing.release_slot(session, tracker, now)
            return None
        row = rows[0]
        expired = row.status == self.queue.leased
        taken = self.queue.take(row, now)
        if taken is None:
            pacing.release_slot(session, tracker, now)
            row.finished_at = now
            log.error("outbox %s (%s %s, cause %s) is dead: %s", row.id, row.action, row.target, row.cause, row.error)
            return None
        if expired:
            row.maybe_sent = True  # the previous holder may have reached the tracker before it died
            log.warning("outbox %s: lease expired while sending; taking it over (will check for the marker)", row.id)
        session.flush()
        return _claim_of(row, taken)

    def _channel_pass(self, session: Session, channel: str, now: datetime) -> tuple[int, list[tuple[Claim, Outgoing]]]:
        """Dry run and unconfigured channels settle rows at once; otherwise claim a batch the channel's pace allows.
        Rows whose message cannot be made (the person was erased, the round closed) are dead before any send."""
        sender = self.sender(channel)
        settings = self.runtime.settings
        if self.recording or isinstance(sender, str):
            rows = self._rows(session, channel, now, BATCH)
            loaded = channels.preload(session, rows)  # held while the batch is rendered
            for row in rows:
                row.attempts += 1
                row.lease_until, row.finished_at = None, now
                try:
                    problem = markers.body_problem(row)
                    if problem is not None:
                        raise Rejected(problem)
                    if self.recording:
                        channels.record(session, settings, row, now)
                        row.status, row.error = "recorded", None
                    else:
                        row.status, row.error = "skipped", str(sender)
                except Rejected as refused:
                    row.status, row.error = "dead", refused.message
                _log_settled(row)
            del loaded
            return len(rows), []
        wanted = channels.batch_size(settings, channel, self.lease)
        taken = pacing.take_sends(
            session,
            channel,
            now,
            channels.rate(settings, channel),
            wanted,
            lambda n: self._rows(session, channel, now, n),
        )
        settled, batch = 0, []
        loaded = channels.preload(session, taken)  # held while the batch is rendered
        for row in taken:
            expired = row.status == self.queue.leased
            lease_until = self.queue.take(row, now)
            if lease_until is None:  # its worker died on every try: the queue made it dead
                row.finished_at = now
                settled += 1
                _log_settled(row)
                continue
            try:
                problem = markers.body_problem(row)
                if problem is not None:
                    raise Rejected(problem)
                message = channels.render(session, settings, row, now)
            except Rejected as refused:
                row.status, row.error, row.lease_until, row.finished_at = "dead", refused.message, None, now
                settled += 1
                _log_settled(row)
                continue
            if expired:
                row.maybe_sent = True
                log.warning("outbox %s: lease expired while sending; sending again under the same id", row.id)
            batch.append((_claim_of(row, lease_until), Outgoing(message, channels.delivery_id(row), now)))
        session.flush()
        del loaded
        return settled, batch

    def _send_batch(self, channel: str, batch: list[tuple[Claim, Outgoing]]) -> None:
        sender = self.sender(channel)
        assert not isinstance(sender, str)  # resolved before the claim
        try:
            with sender.batch() as send:
                for claim, outgoing in batch:
                    outcome: Sent | TrackerFailure
                    try:
                        outcome = Sent(send(replace(outgoing, at=self.clock())))
                    except TrackerFailure as failure:
                        outcome = failure
                    except Exception as exc:
                        log.exception("outbox %s: unexpected %s while sending", claim.id, type(exc).__name__)
                        outcome = Transient(
                            f"unexpected {type(exc).__name__} while sending; will retry", maybe_sent=True
                        )
                    self._finish(claim, outcome)
        except Exception:  # closing the connection failed after every row was finished: nothing is lost
            log.exception("outbox: closing the %s sender failed", channel)

    def _send(self, claim: Claim) -> None:
        client = self.client(claim.tracker)
        outcome: Sent | TrackerFailure
        if isinstance(client, str):  # resolved before the claim; kept for type narrowing
            outcome = Rejected(client)
        else:
            try:
                outcome = _perform(client, claim)
            except TrackerFailure as failure:
                outcome = failure
            except Exception as exc:  # a bug or an unexpected library error must not lose the row
                log.exception("outbox %s: unexpected %s while sending", claim.id, type(exc).__name__)
                outcome = Transient(f"unexpected {type(exc).__name__} while sending; will retry", maybe_sent=True)
        self._finish(claim, outcome)

    def _finish(self, claim: Claim, outcome: Sent | TrackerFailure) -> None:
        now = self.clock()
        with self.runtime.transaction() as session:
            row = session.get(OutboxItem, claim.id)
            channel = claim.tracker in markers.CHANNELS
            if not channel:  # a channel's pace was booked when its batch was claimed
                not_before = now + pacing.WRITE_INTERVAL
                if isinstance(outcome, RateLimited):
                    wait_until = next_attempt(now, 0, self.rng, outcome.retry_after, outcome.reset_at)
                    not_before = max(not_before, wait_until)
                pacing.release_slot(
                    session, claim.tracker, not_before, outcome.message if isinstance(outcome, RateLimited) else None
                )
            if row is None or not self.queue.holds(row, claim.lease_until):
                log.warning("outbox %s: lease lost before the result was stored; the new holder decides", claim.id)
                return
            row.lease_until = None
            _apply(self.queue, row, outcome, now, self.rng)
            if channel and row.status == "sent":
                channels.after_sent(session, row, now)
            level = logging.INFO if row.status in ("sent", "failed") else logging.WARNING
            log.log(
                level,
                "outbox %s (%s %s, cause %s): %s after %s attempt(s)%s",
                row.id,
                row.action,
                row.target,
                row.cause,
                row.status,
                row.attempts,
                f" - {row.error}" if row.error else "",
            )


def _log_settled(row: OutboxItem) -> None:
    log.info(
        "outbox %s (%s %s, cause %s): %s%s",
        row.id,
        row.action,
        row.target,
        row.cause,
        row.status,
        f" - {row.error}" if row.error else "",
    )


def _claim_of(row: OutboxItem, lease_until: datetime) -> Claim:
    return Claim(
        id=row.id,
        tracker=row.tracker,
        action=row.action,
        target=row.target,
        body=markers.rendered_body(row),
        marker=markers.token(row),
        maybe_sent=bool(row.maybe_sent),
        attempts=row.attempts,
        lease_until=lease_until,
        cause=row.cause,
        problem=markers.body_problem(row),
    )


def _perform(client: TrackerClient, claim: Claim) -> Sent:
    if claim.problem is not None:
        raise Rejected(claim.problem)
    if claim.action in markers.COMMENT_ACTIONS:
        if claim.maybe_sent:
            found = client.find_comment(claim.target, claim.marker)
            if found is not None:
                return Sent(found, "an earlier attempt had posted it (marker found)")
        return Sent(client.comment(claim.target, str(claim.body["text"])))
    label = str(claim.body["label"])
    if claim.action == "add_label":
        client.add_label(claim.target, label)
    else:
        client.remove_label(claim.target, label)
    return Sent(None)


def _apply(
    queue: WorkQueue[OutboxItem], row: OutboxItem, outcome: Sent | TrackerFailure, now: datetime, rng: random.Random
) -> None:
    if isinstance(outcome, Sent):
        row.status, row.external_id, row.error, row.finished_at = "sent", outcome.external_id, outcome.note, now
        return
    row.maybe_sent = bool(row.maybe_sent or outcome.maybe_sent)
    if isinstance(outcome, (Unauthorised, Rejected)):
        row.status, row.error, row.finished_at = "dead", outcome.message, now
        return
    if isinstance(outcome, RateLimited):
        row.attempts -= 1  # the tracker did not look at it: waiting out a limit does not use up a try
        row.status, row.error = "failed", outcome.message
        row.next_attempt_at = next_attempt(now, row.attempts, rng, outcome.retry_after, outcome.reset_at)
        return
    retry_after = outcome.retry_after if isinstance(outcome, Transient) else None
    if queue.fail(row, now, outcome.message, rng, not_before=tracker_wait(now, retry_after)) == "dead":
        row.error, row.finished_at = f"gave up after {row.attempts} tries: {outcome.message}", now


def dispatch_due(runtime: Runtime) -> int:
    """The worker's outbox drain: one bounded pass, returns how many rows it settled or sent."""
    # One dispatcher per runtime, living as long as it, so built clients are reused between passes.
    if runtime.outbox_dispatcher is None:
        runtime.outbox_dispatcher = Dispatcher(runtime, lease=timedelta(seconds=runtime.settings.worker_lease))
    return runtime.outbox_dispatcher.dispatch_due()
