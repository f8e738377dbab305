"""The dispatcher sends check-in prompts by e-mail and webhook as it writes to trackers: retries, dead rows, leases,
dry run, and a pace of their own; a sent prompt gets its `sent_at`, an unsent one shows as undelivered."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from standardwebhooks import Webhook

from integrations.recording import RecordingClient
from service.checkins import delivery, links
from service.checkins.mail import SmtpSender
from service.checkins.messages import Outgoing, Send
from service.checkins.signed_webhooks import WebhookSender
from service.checkins.stakeholders import erase
from service.outbox import channels, enqueue
from service.outbox.backoff import MAX_ATTEMPTS
from service.outbox.dispatch import Dispatcher
from service.pinned_http import PinnedHttp
from service.runtime import Runtime, runtime
from service.storage.models import CheckinPrompt, OutboxItem, Stakeholder
from tests.conftest import auth, build_app, make_settings, token_for
from tests.local_http import Endpoint, serving
from tests.service.checkins.prompts import Queued, queue_prompt
from tests.service.checkins.smtp_server import PASSWORD, USER, smtp_server
from tests.service.outbox.fakes import FakeClock
from tests.tls import Authority, make_authority


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path / "ca")


def app_with(tmp_path: Path, database_url: str = "", **settings: object) -> Flask:
    return build_app(make_settings(tmp_path / "instance", database_url, **settings))


def queue(rt: Runtime, clock: FakeClock, **fields: object) -> Queued:
    with rt.transaction() as session:
        return queue_prompt(session, rt.settings, now=clock.now, **fields)  # type: ignore[arg-type]


def row(rt: Runtime, item_id: int) -> OutboxItem:
    with rt.transaction() as session:
        found = session.get(OutboxItem, item_id)
        assert found is not None
        session.expunge(found)
        return found


def prompt(rt: Runtime, prompt_id: int) -> tuple[CheckinPrompt, str]:
    with rt.transaction() as session:
        found = session.get(CheckinPrompt, prompt_id)
        assert found is not None
        status = delivery.of(session, found)
        session.expunge(found)
        return found, status


def until_settled(dispatcher: Dispatcher, rt: Runtime, clock: FakeClock, item_id: int, passes: int = 20) -> list[str]:
    """Statuses after each pass, moving the clock to the row's next try in between."""
    seen = []
    for _ in range(passes):
        dispatcher.dispatch_due()
        current = row(rt, item_id)
        seen.append(current.status)
        if current.status in ("sent", "dead", "skipped", "recorded"):
            break
        clock.now = max(clock.now + timedelta(seconds=1), current.next_attempt_at)
    return seen


# --- e-mail ---------------------------------------------------------------------------------------------------


def test_a_prompt_is_mailed_through_starttls_and_login_and_its_link_opens(tmp_path, authority) -> None:
    clock = FakeClock()
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        app = app_with(tmp_path, smtp_url=f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}")
        rt = runtime(app)
        queued = queue(rt, clock)
        dispatcher = Dispatcher(
            rt,
            clock=clock,
            senders=lambda c: SmtpSender.from_settings(rt.settings, ssl_context=authority.client_context()),
        )
        assert dispatcher.dispatch_due() == 1
    sent = row(rt, queued.outbox_id)
    assert sent.status == "sent" and sent.attempts == 1 and sent.error is None
    assert sent.external_id == f"{channels.delivery_id(sent)}@localhost"
    found, status = prompt(rt, queued.prompt_id)
    assert found.sent_at == clock.now and status == "delivered"
    (mail,) = box.messages
    assert mail.tls and mail.login == USER and mail.rcpt_tos == ["ana@city.example"]
    assert mail.message["Message-ID"] == f"<{sent.external_id}>"
    text, html = (part.get_content() for part in mail.message.iter_parts())
    with rt.transaction() as session:
        link = links.url(rt.settings, session.get(CheckinPrompt, queued.prompt_id))
        assert link in text and link in html
        opened = links.open_link(session, rt.settings, link.rsplit("/answer/", 1)[1], now=clock.now)
    assert opened.problem is None and opened.prompt is not None and opened.prompt.id == queued.prompt_id
    # The outbox API shows the reference, never the link or the address.
    shown = app.test_client().get(f"/api/v1/outbox/{queued.outbox_id}", headers=auth(token_for(app, "auditor")))
    assert shown.json["body"] == {"prompt": queued.prompt_id} and shown.json["target"] == f"prompt:{queued.prompt_id}"
    assert "/answer/" not in shown.text and "ana@" not in shown.text


def test_smtp_down_the_row_is_retried_then_dead_and_the_prompt_shows_undelivered(tmp_path) -> None:
    clock = FakeClock()
    with smtp_server(None) as (_, port):
        pass  # nothing listens on the port any more
    rt = runtime(app_with(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"))
    queued = queue(rt, clock)
    statuses = until_settled(Dispatcher(rt, clock=clock, rng=random.Random(3)), rt, clock, queued.outbox_id)
    assert statuses == ["failed"] * (MAX_ATTEMPTS - 1) + ["dead"]
    dead = row(rt, queued.outbox_id)
    assert dead.attempts == MAX_ATTEMPTS and dead.error is not None
    assert dead.error.startswith(
        f"gave up after {MAX_ATTEMPTS} tries: cannot reach the SMTP server at smtp://127.0.0.1"
    )
    found, status = prompt(rt, queued.prompt_id)
    assert found.sent_at is None and status == "undelivered"


def test_a_failed_row_already_shows_the_prompt_undelivered(tmp_path) -> None:
    clock = FakeClock()
    with smtp_server(None) as (_, port):
        pass
    rt = runtime(app_with(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"))
    queued = queue(rt, clock)
    Dispatcher(rt, clock=clock).dispatch_due()
    assert row(rt, queued.outbox_id).status == "failed" and prompt(rt, queued.prompt_id)[1] == "undelivered"


def test_without_an_smtp_url_the_rows_are_skipped_naming_the_variable(tmp_path) -> None:
    clock = FakeClock()
    rt = runtime(app_with(tmp_path))
    queued = queue(rt, clock)
    assert Dispatcher(rt, clock=clock).dispatch_due() == 1
    skipped = row(rt, queued.outbox_id)
    assert skipped.status == "skipped" and "PVM_SMTP_URL is not set" in (skipped.error or "")
    assert prompt(rt, queued.prompt_id)[1] == "undelivered"


def test_an_erased_person_is_not_written_to(tmp_path, authority) -> None:
    clock = FakeClock()
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        rt = runtime(app_with(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"))
        queued = queue(rt, clock)
        with rt.transaction() as session:
            erase(session, session.get(Stakeholder, queued.stakeholder_id), actor="test", source="test")
        dispatcher = Dispatcher(
            rt,
            clock=clock,
            senders=lambda c: SmtpSender.from_settings(rt.settings, ssl_context=authority.client_context()),
        )
        dispatcher.dispatch_due()
    dead = row(rt, queued.outbox_id)
    assert dead.status == "dead" and "was erased; no prompt is sent" in (dead.error or "")
    assert box.messages == []


# --- webhooks -------------------------------------------------------------------------------------------------


def webhook_dispatcher(rt: Runtime, clock: FakeClock, **http: object) -> Dispatcher:
    options = {"allowed_private_hosts": ("127.0.0.1",), "timeout": 5.0, **http}
    return Dispatcher(
        rt,
        clock=clock,
        rng=random.Random(5),
        senders=lambda c: WebhookSender(PinnedHttp(**options)),  # type: ignore[arg-type]
    )


def test_a_retry_keeps_the_same_webhook_id_and_each_try_verifies(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))  # the verifier compares the timestamp with its own clock
    rt = runtime(app_with(tmp_path))
    with serving(Endpoint(answers=[(503, {}, b"busy")])) as endpoint:
        queued = queue(rt, clock, channel="webhook", email=None, webhook_url=endpoint.url("/hooks/pvm"))
        statuses = until_settled(webhook_dispatcher(rt, clock), rt, clock, queued.outbox_id)
    assert statuses == ["failed", "sent"]
    first, second = endpoint.requests
    assert (
        first.headers["webhook-id"] == second.headers["webhook-id"] == channels.delivery_id(row(rt, queued.outbox_id))
    )
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])  # a fresh signature
    assert queued.secret is not None
    for seen in (first, second):
        assert Webhook(queued.secret).verify(seen.body, seen.headers)["data"]["round"] == queued.round_id
    sent = row(rt, queued.outbox_id)
    assert sent.external_id == first.headers["webhook-id"]
    assert prompt(rt, queued.prompt_id)[0].sent_at == clock.now


def test_429_waits_as_long_as_the_receiver_asks(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))
    rt = runtime(app_with(tmp_path))
    with serving(Endpoint(answers=[(429, {"Retry-After": "120"}, b"")])) as endpoint:
        queued = queue(rt, clock, channel="webhook", email=None, webhook_url=endpoint.url("/hook"))
        webhook_dispatcher(rt, clock).dispatch_due()
    waiting = row(rt, queued.outbox_id)
    assert waiting.status == "failed" and waiting.next_attempt_at == clock.now + timedelta(seconds=120)


def test_a_redirect_is_not_followed_and_the_row_is_dead_with_the_reason(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))
    rt = runtime(app_with(tmp_path))
    with serving() as elsewhere, serving(Endpoint(answers=[(302, {}, b"")])) as endpoint:
        endpoint.answers[0][1]["Location"] = elsewhere.url("/stolen")
        queued = queue(rt, clock, channel="webhook", email=None, webhook_url=endpoint.url("/hook"))
        webhook_dispatcher(rt, clock).dispatch_due()
    dead = row(rt, queued.outbox_id)
    assert dead.status == "dead" and "302, a redirect; redirects are not followed" in (dead.error or "")
    assert len(endpoint.requests) == 1 and elsewhere.requests == []


def rebinding(host: str, port: int) -> list[str]:
    return [host] if host[0].isdigit() else ["10.0.0.8"]


def test_the_guard_at_send_time_refuses_a_name_that_now_resolves_to_a_private_address(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))
    rt = runtime(app_with(tmp_path))
    with serving() as endpoint:
        loopback = queue(rt, clock, channel="webhook", email=None, webhook_url=endpoint.url("/hook"))
        rebound = queue(rt, clock, channel="webhook", email=None, webhook_url="https://hooks.panel.example/pvm")
        # The name resolved to a public address when it was saved; today it answers with a private one.
        dispatcher = webhook_dispatcher(rt, clock, allowed_private_hosts=(), resolver=rebinding)
        dispatcher.dispatch_due()
    assert endpoint.requests == []
    assert "loopback" in (row(rt, loopback.outbox_id).error or "")
    error = row(rt, rebound.outbox_id).error or ""
    assert "refused at send time: the host resolves to 10.0.0.8, a private address" in error
    assert "panel.example" not in error
    assert [row(rt, q.outbox_id).status for q in (loopback, rebound)] == ["dead", "dead"]


def test_the_request_goes_to_the_checked_address_under_the_host_name(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))
    rt = runtime(app_with(tmp_path))
    with serving() as endpoint:
        url = endpoint.url("/hook", host="hooks.panel.test")
        queued = queue(rt, clock, channel="webhook", email=None, webhook_url=url)
        options = {"allowed_private_hosts": ("hooks.panel.test",), "resolver": lambda host, port: ["127.0.0.1"]}
        webhook_dispatcher(rt, clock, **options).dispatch_due()
    assert row(rt, queued.outbox_id).status == "sent"
    assert endpoint.requests[0].headers["host"] == f"hooks.panel.test:{endpoint.port}"


def test_a_row_whose_worker_died_is_taken_over_and_sent_under_the_same_id(tmp_path) -> None:
    clock = FakeClock(datetime.now(UTC))
    rt = runtime(app_with(tmp_path))
    with serving() as endpoint:
        queued = queue(rt, clock, channel="webhook", email=None, webhook_url=endpoint.url("/hook"))
        with rt.transaction() as session:  # a worker leased it, then was killed
            leased = session.get(OutboxItem, queued.outbox_id)
            leased.status, leased.attempts, leased.lease_until = "sending", 1, clock.now + timedelta(minutes=5)
        dispatcher = webhook_dispatcher(rt, clock)
        assert dispatcher.dispatch_due() == 0  # the lease still holds
        clock.advance(301)
        dispatcher.dispatch_due()
    taken = row(rt, queued.outbox_id)
    assert taken.status == "sent" and taken.attempts == 2 and taken.maybe_sent
    assert [seen.headers["webhook-id"] for seen in endpoint.requests] == [channels.delivery_id(taken)]


# --- dry run and pacing -----------------------------------------------------------------------------------------


def test_a_dry_run_records_what_would_be_sent_without_the_link_or_the_address(tmp_path) -> None:
    clock = FakeClock()
    app = app_with(tmp_path, outbound="record", smtp_url="smtp://127.0.0.1:9")
    rt = runtime(app)
    mail = queue(rt, clock)
    hook = queue(rt, clock, channel="webhook", email=None, webhook_url="https://93.184.216.34/hooks/pvm")
    reminder = queue(rt, clock, reminder=True)
    assert Dispatcher(rt, clock=clock).dispatch_due() == 3
    client = app.test_client()
    headers = auth(token_for(app, "auditor"))
    for queued, channel in ((mail, "email"), (hook, "webhook"), (reminder, "email")):
        recorded = row(rt, queued.outbox_id)
        assert recorded.status == "recorded"
        shown = client.get(f"/api/v1/outbox/{queued.outbox_id}", headers=headers).json
        described = shown["body"]["recorded"]
        assert shown["body"]["prompt"] == queued.prompt_id and described["channel"] == channel
        assert described["to"] == f"stakeholder:{queued.stakeholder_id} (citizen)"
        for personal in ("/answer/", "Ana", "ana@city.example", "93.184.216.34"):
            assert personal not in str(shown)
        assert prompt(rt, queued.prompt_id)[0].sent_at is None  # nothing went out
    assert row(rt, mail.outbox_id).body["recorded"]["type"] == "checkin.prompt"
    assert row(rt, reminder.outbox_id).body["recorded"]["type"] == "checkin.reminder"
    assert row(rt, hook.outbox_id).body["recorded"]["data"]["question"]


@dataclass
class CountingSender:
    """Counts sends by time (pacing only; the real senders are tested above)."""

    channel: str
    clock: FakeClock
    sent: list[tuple[str, datetime]] = field(default_factory=list)

    @contextmanager
    def batch(self) -> Iterator[Send]:
        def send(outgoing: Outgoing) -> str:
            self.sent.append((outgoing.delivery_id, self.clock.now))
            return outgoing.delivery_id

        yield send


def test_each_channel_keeps_its_own_rate_across_workers_and_trackers_keep_one_a_second(tmp_path, database_url) -> None:
    clock = FakeClock()
    app = app_with(tmp_path, database_url, smtp_url="smtp://127.0.0.1:9", email_per_second=5, webhook_per_second=2)
    rt = runtime(app)
    for _ in range(12):
        queue(rt, clock)
    for _ in range(5):
        queue(rt, clock, channel="webhook", email=None, webhook_url="https://93.184.216.34/hooks")
    with rt.transaction() as session:
        for n in range(3):
            item = enqueue(
                session, tracker="github", action="comment", target=f"github:acme/portal#{n}", body={"text": "hi"}
            )
            item.created_at = item.next_attempt_at = clock.now
    senders = {"email": CountingSender("email", clock), "webhook": CountingSender("webhook", clock)}
    tracker = RecordingClient("github")
    workers = [Dispatcher(rt, clock=clock, senders=senders.__getitem__, clients=lambda t: tracker) for _ in range(2)]

    def counts() -> tuple[int, int, int]:
        return len(senders["email"].sent), len(senders["webhook"].sent), len(tracker.calls)

    workers[0].dispatch_due()
    assert counts() == (5, 2, 1)  # a second's worth of each channel, one tracker write
    workers[1].dispatch_due()
    assert counts() == (5, 2, 1)  # the other worker sees the pace in the database
    clock.advance(0.5)
    workers[1].dispatch_due()
    assert counts() == (5, 2, 1)
    clock.advance(0.5)
    workers[1].dispatch_due()
    assert counts() == (10, 4, 2)
    clock.advance(1)
    workers[0].dispatch_due()
    assert counts() == (12, 5, 3)
    times = [at for _, at in senders["email"].sent]
    assert all(times.count(at) <= 5 for at in set(times))
    rt.engine.dispose()


def test_ten_thousand_emails_take_minutes_not_hours_at_the_default_rate(tmp_path) -> None:
    settings = make_settings(tmp_path, smtp_url="smtp://127.0.0.1:9")
    from service.outbox.dispatch import LEASE

    assert settings.email_per_second == 10 and channels.batch_size(settings, "email", LEASE) == 10
    assert 10_000 / settings.email_per_second / 60 < 20  # 10,000 e-mails in under 17 minutes
    slow = settings.with_overrides(outbound_timeout=300.0)
    assert channels.batch_size(slow, "email", LEASE) == 1  # every send of a batch could time out within its lease
