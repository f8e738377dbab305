"""The e-mail sender against a real SMTP server on loopback: STARTTLS, AUTH, both parts, failures in outbox words."""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime

import pytest

from integrations.failures import Rejected, Transient, Unauthorised
from service.checkins.mail import SmtpSender
from service.checkins.messages import Outgoing, message_for
from service.config import parse_smtp_url
from service.runtime import runtime
from tests.service.checkins.prompts import queue_prompt
from tests.service.checkins.smtp_server import PASSWORD, USER, smtp_server
from tests.tls import make_authority

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIL_FROM = "Value team <value@city.example>"


@pytest.fixture
def authority(tmp_path):
    return make_authority(tmp_path / "ca")


def outgoing(app, n: int = 1, **fields) -> list[Outgoing]:
    rt = runtime(app)
    made = []
    with rt.transaction() as session:
        for number in range(n):
            queued = queue_prompt(session, rt.settings, now=NOW, email=f"person{number}@city.example", **fields)
            message = message_for(session, rt.settings, queued.prompt_id, False, now=NOW)
            made.append(Outgoing(message, f"pvm-outbox-{queued.outbox_id}-20261201090000000000", NOW))
    return made


def sender(url: str, context: ssl.SSLContext | None = None) -> SmtpSender:
    return SmtpSender(parse_smtp_url(url), MAIL_FROM, timeout=5, ssl_context=context or ssl.create_default_context())


def send_all(smtp: SmtpSender, items: list[Outgoing]) -> list[str | Exception | None]:
    results: list[str | Exception | None] = []
    with smtp.batch() as send:
        for item in items:
            try:
                results.append(send(item))
            except Exception as exc:
                results.append(exc)
    return results


def test_starttls_and_login_then_both_parts_and_the_headers(app, authority, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    (item,) = outgoing(app)
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}"
        assert send_all(sender(url, authority.client_context()), [item]) == [f"{item.delivery_id}@city.example"]
    (got,) = box.messages
    assert got.tls and got.login == USER
    assert got.mail_from == "value@city.example" and got.rcpt_tos == ["person0@city.example"]
    mail = got.message
    assert mail["From"] == MAIL_FROM and mail["To"] == "Ana Pérez <person0@city.example>"
    assert mail["Subject"] == item.message.subject and mail["Message-ID"] == f"<{item.delivery_id}@city.example>"
    assert mail["Auto-Submitted"] == "auto-generated" and mail.get_content_type() == "multipart/alternative"
    text, html = (part for part in mail.iter_parts())
    # SMTP carries lines ending in CRLF.
    assert text.get_content_type() == "text/plain" and text.get_content().replace("\r\n", "\n") == item.message.text
    assert html.get_content_type() == "text/html" and html.get_content().replace("\r\n", "\n") == item.message.html
    assert PASSWORD not in caplog.text


def test_tls_from_the_first_byte_with_smtps(app, authority) -> None:
    (item,) = outgoing(app)
    with smtp_server(authority.server_context("127.0.0.1"), implicit_tls=True) as (box, port):
        (result,) = send_all(sender(f"smtps://{USER}:{PASSWORD}@127.0.0.1:{port}", authority.client_context()), [item])
    assert isinstance(result, str), result
    assert [(m.tls, m.login) for m in box.messages] == [(True, USER)]


def test_a_batch_uses_one_connection(app, authority) -> None:
    items = outgoing(app, 3)
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        results = send_all(sender(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}", authority.client_context()), items)
    assert all(isinstance(result, str) for result in results)
    assert len(box.messages) == 3 and box.logins == [USER]


def test_a_certificate_not_for_the_server_is_refused(app, authority) -> None:
    (item,) = outgoing(app)
    with smtp_server(authority.server_context("mail.elsewhere.test")) as (box, port):
        (result,) = send_all(sender(f"smtp://127.0.0.1:{port}", authority.client_context()), [item])
    assert isinstance(result, Transient) and "certificate could not be verified" in result.message
    assert box.messages == []


def test_starttls_required_but_not_offered_is_retried_later_not_sent_in_clear(app) -> None:
    (item,) = outgoing(app)
    with smtp_server(None, auth=False) as (box, port):
        (result,) = send_all(sender(f"smtp://127.0.0.1:{port}?starttls=required"), [item])
        (sent,) = send_all(sender(f"smtp://127.0.0.1:{port}"), [item])  # auto: plain SMTP is fine without a password
    assert isinstance(result, Transient) and "does not offer STARTTLS" in result.message
    assert isinstance(sent, str) and [m.tls for m in box.messages] == [False]


def test_a_password_is_never_sent_without_tls(app) -> None:
    (item,) = outgoing(app)
    with smtp_server(None) as (box, port):
        (result,) = send_all(sender(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}"), [item])
    assert isinstance(result, Transient) and "only sent encrypted" in result.message
    assert box.logins == [] and box.messages == []


def test_wrong_credentials_name_the_setting_and_not_the_password(app, authority) -> None:
    items = outgoing(app, 2)
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        results = send_all(sender(f"smtp://{USER}:wrong-one@127.0.0.1:{port}", authority.client_context()), items)
    assert all(isinstance(result, Unauthorised) for result in results)  # the rest of the batch is not tried
    assert "PVM_SMTP_URL" in results[0].message and "wrong-one" not in results[0].message  # type: ignore[union-attr]
    assert box.messages == []


def test_a_refused_recipient_is_rejected_for_good_without_the_address_in_the_error(app, authority) -> None:
    first, second = outgoing(app, 2)
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        box.refuse["person0@city.example"] = "550 5.1.1 <person0@city.example>: Recipient address rejected"
        results = send_all(
            sender(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}", authority.client_context()), [first, second]
        )
    assert isinstance(results[0], Rejected) and "550" in results[0].message
    assert "person0" not in results[0].message
    assert isinstance(results[1], str) and [m.rcpt_tos for m in box.messages] == [["person1@city.example"]]


def test_a_busy_recipient_is_tried_again(app, authority) -> None:
    (item,) = outgoing(app)
    with smtp_server(authority.server_context("127.0.0.1")) as (box, port):
        box.refuse["person0@city.example"] = "451 4.7.1 Greylisted, try again later"
        (result,) = send_all(sender(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}", authority.client_context()), [item])
    assert isinstance(result, Transient) and "451" in result.message


def test_a_server_that_is_down_is_tried_again_and_the_rest_of_the_batch_fails_at_once(app) -> None:
    items = outgoing(app, 2)
    with smtp_server(None) as (_, port):
        pass  # the port is free again: nothing listens there
    results = send_all(sender(f"smtp://127.0.0.1:{port}"), items)
    assert all(isinstance(result, Transient) for result in results) and results[0] is results[1]
    assert "cannot reach the SMTP server at smtp://127.0.0.1" in results[0].message  # type: ignore[union-attr]
