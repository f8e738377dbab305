"""Outbound check-in webhooks: signed per Standard Webhooks (checked with its own verifier), guarded, not redirected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from integrations.failures import Rejected, Transient
from service.checkins.messages import Outgoing, message_for
from service.checkins.signed_webhooks import WebhookSender
from service.pinned_http import PinnedHttp
from service.runtime import runtime
from tests.local_http import Endpoint, serving
from tests.service.checkins.prompts import queue_prompt


def made(app, url: str) -> tuple[Outgoing, str]:
    rt = runtime(app)
    now = datetime.now(UTC)  # the verifier allows five minutes either way of its own clock
    with rt.transaction() as session:
        queued = queue_prompt(session, rt.settings, now=now, channel="webhook", email=None, webhook_url=url)
        message = message_for(session, rt.settings, queued.prompt_id, False, now=now)
    assert queued.secret is not None
    return Outgoing(message, f"pvm-outbox-{queued.outbox_id}-20261201090000000000", now), queued.secret


def local(**options: object) -> WebhookSender:
    return WebhookSender(PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=5, **options))  # type: ignore[arg-type]


def test_the_prompt_arrives_signed_and_the_standard_webhooks_verifier_accepts_it(app) -> None:
    with serving() as endpoint:
        outgoing, secret = made(app, endpoint.url("/hooks/pvm"))
        assert local().send(outgoing) == outgoing.delivery_id
    (seen,) = endpoint.requests
    assert seen.method == "POST" and seen.path == "/hooks/pvm" and seen.headers["content-type"] == "application/json"
    assert seen.headers["webhook-id"] == outgoing.delivery_id
    assert seen.headers["webhook-timestamp"] == str(int(outgoing.at.timestamp()))
    payload = Webhook(secret).verify(seen.body, seen.headers)
    assert payload == json.loads(json.dumps(outgoing.message.webhook_payload(outgoing.at)))
    assert payload["type"] == "checkin.prompt" and payload["data"]["link"] == outgoing.message.link
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(seen.body.replace(b"checkin.prompt", b"checkin.remindr"), seen.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(seen.body, seen.headers)


ANSWERS = [
    ((302, {"Location": "http://127.0.0.1:9/elsewhere"}, b""), Rejected, "302, a redirect; redirects are not followed"),
    ((404, {}, b"no such hook"), Rejected, "answered 404"),
    ((410, {}, b""), Rejected, "answered 410"),
    ((500, {}, b""), Transient, "answered 500"),
    ((503, {}, b""), Transient, "answered 503"),
    ((408, {}, b""), Transient, "answered 408"),
    ((429, {"Retry-After": "120"}, b""), Transient, "answered 429"),
]


def test_the_answer_decides_sent_retried_or_dead(app) -> None:
    for answer, failure, says in ANSWERS:  # one app for all: building one is most of a case's time
        with serving(Endpoint(answers=[answer])) as endpoint:
            outgoing, _ = made(app, endpoint.url("/hook"))
            with pytest.raises(failure, match=says) as caught:
                local().send(outgoing)
        assert [seen.path for seen in endpoint.requests] == ["/hook"]  # one request: a redirect is not followed
        if answer[0] == 429:
            assert caught.value.retry_after == 120 and not caught.value.maybe_sent


def test_no_answer_in_time_is_retried(app) -> None:
    with serving(Endpoint(delay=2)) as endpoint:
        outgoing, _ = made(app, endpoint.url("/slow"))
        with pytest.raises(Transient, match="no answer within 1 s") as caught:
            WebhookSender(PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=1)).send(outgoing)
    assert caught.value.maybe_sent


REFUSED = [
    ("http://127.0.0.1:{port}/hook", None, "loopback"),
    ("http://[::1]:{port}/hook", None, "loopback"),
    ("http://10.20.30.40/hook", None, "private"),
    ("http://169.254.169.254/latest/meta-data/", None, "metadata"),
    ("https://hooks.residents-panel.example/pvm", ["10.0.0.8"], "private"),
    ("https://hooks.residents-panel.example/pvm", ["127.0.0.1"], "loopback"),
    ("https://hooks.residents-panel.example/pvm", ["169.254.169.254"], "metadata"),
    ("https://hooks.residents-panel.example/pvm", ["::1"], "loopback"),
]


def test_the_address_is_checked_again_at_send_time(app) -> None:
    for url, addresses, says in REFUSED:
        with serving() as endpoint:
            outgoing, _ = made(app, url.format(port=endpoint.port))
            resolver = (lambda host, port, found=addresses: list(found)) if addresses else None
            client = PinnedHttp(timeout=5, **({"resolver": resolver} if resolver else {}))
            with pytest.raises(Rejected, match=f"refused at send time: .*{says}") as caught:
                WebhookSender(client).send(outgoing)
        assert endpoint.requests == [], url
        assert "residents-panel" not in caught.value.message  # the host is the stakeholder's contact: not in errors


def test_a_person_without_a_webhook_any_more_is_not_sent_to(app) -> None:
    outgoing, _ = made(app, "https://93.184.216.34/hooks")
    gone = type(outgoing)(
        message=type(outgoing.message)(**{**outgoing.message.__dict__, "webhook_url": None}),
        delivery_id=outgoing.delivery_id,
        at=outgoing.at + timedelta(seconds=1),
    )
    with pytest.raises(Rejected, match="has no webhook"):
        local().send(gone)
