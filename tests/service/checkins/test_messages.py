"""The message a person gets: plain words, their own link, the deadline; nothing for the erased or the gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.failures import Rejected
from service.checkins import links
from service.checkins.answers import SCORES
from service.checkins.messages import QUESTION, message_for
from service.checkins.stakeholders import erase
from service.runtime import runtime
from service.storage.models import CheckinPrompt, CheckinRound, Stakeholder
from tests.service.checkins.prompts import EPIC, STATEMENT, queue_prompt

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _message(app, reminder: bool = False, **fields):
    rt = runtime(app)
    with rt.transaction() as session:
        queued = queue_prompt(session, rt.settings, now=NOW, **fields)
        return queued, message_for(session, rt.settings, queued.prompt_id, reminder, now=NOW)


def test_the_email_says_what_is_asked_by_when_with_the_persons_own_link(app) -> None:
    queued, message = _message(app)
    with runtime(app).transaction() as session:
        prompt = session.get(CheckinPrompt, queued.prompt_id)
        assert message.link == links.url(runtime(app).settings, prompt)
        opened = links.open_link(session, runtime(app).settings, message.link.rsplit("/", 1)[1], now=NOW)
        assert opened.problem is None and opened.prompt is not None and opened.prompt.id == queued.prompt_id
    text = message.text
    assert text.startswith("Hello Ana Pérez,")
    assert 'The team working on "Publish the refusal rules"' in text and "other citizens" in text
    assert STATEMENT in text and QUESTION in text
    assert "Friday 4 December 2026, 09:00 UTC" in text  # the deadline, three days on
    assert message.link in text
    assert "yours alone: it works once, needs no account" in text
    assert "How your answer is used" in text and "never the words themselves" in text
    for score, words in SCORES.items():
        assert f"    {f'{score:+d}' if score else '0':>2}  {words}\n" in text
    assert message.subject == f"Your view by 4 December, please: “{STATEMENT[:59].rstrip()}…”"
    assert message.html.count(message.link) == 2  # the button and the copyable address
    assert '<html lang="en">' in message.html and "Friday 4 December 2026, 09:00 UTC" in message.html


def test_the_html_part_is_escaped_and_the_text_part_is_not(app) -> None:
    _, message = _message(app, statement="We believe <script>alert(1)</script> & co will help", name="Bo <b>")
    assert "<script>" not in message.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in message.html
    assert "Hello Bo &lt;b&gt;," in message.html
    assert "We believe <script>alert(1)</script> & co will help" in message.text  # plain text shows it as written


def test_a_reminder_says_so_and_is_typed_as_one(app) -> None:
    _, message = _message(app, reminder=True)
    assert message.subject.startswith("Reminder: your view by 4 December") and message.event_type == "checkin.reminder"
    assert "A short reminder: we have not had your answer yet" in message.text
    assert message.webhook_payload(NOW)["type"] == "checkin.reminder"


def test_the_webhook_payload_carries_round_hypothesis_link_and_the_score_words(app) -> None:
    queued, message = _message(app, channel="webhook", email=None, webhook_url="https://93.184.216.34/hooks")
    payload = message.webhook_payload(NOW)
    assert payload["type"] == "checkin.prompt" and payload["timestamp"] == "2026-12-01T09:00:00Z"
    data = payload["data"]
    assert data["round"] == queued.round_id and data["group"] == "citizen"
    assert data["hypothesis"] == {"id": data["hypothesis"]["id"], "statement": STATEMENT, "epic": EPIC}
    assert data["deadline"] == "2026-12-04T09:00:00Z" and data["link"] == message.link and data["question"] == QUESTION
    assert data["scores"] == {"-2": "value destroyed", "-1": "some value lost", "0": "no difference",
                              "1": "some value created", "2": "value clearly created"}  # fmt: skip
    assert message.webhook_secret == queued.secret


def test_what_a_dry_run_records_names_the_message_without_link_address_or_name(app) -> None:
    _, mail = _message(app)
    _, hook = _message(app, channel="webhook", email=None, webhook_url="https://93.184.216.34/hooks/pvm")
    for shown in (mail.described("email"), hook.described("webhook")):
        flat = repr(shown)
        for personal in ("/answer/", "Ana", "ana@city.example", "93.184.216.34"):
            assert personal not in flat
    assert mail.described("email")["subject"] == mail.subject
    assert hook.described("webhook")["data"]["hypothesis"]["statement"] == STATEMENT
    assert "ana@city.example" not in repr(mail) and "/answer/" not in repr(mail)  # logs show no contact or link


def test_no_message_for_an_erased_person_a_deleted_prompt_or_a_finished_round(app) -> None:
    rt = runtime(app)
    with rt.transaction() as session:
        erased = queue_prompt(session, rt.settings, now=NOW)
        erase(session, session.get(Stakeholder, erased.stakeholder_id), actor="test", source="test")
        closed = queue_prompt(session, rt.settings, now=NOW)
        session.get(CheckinRound, closed.round_id).status = "closed"
        late = queue_prompt(session, rt.settings, now=NOW, deadline=timedelta(hours=-1))
        answered = queue_prompt(session, rt.settings, now=NOW)
        session.get(CheckinPrompt, answered.prompt_id).answered_at = NOW
    cases = [
        (erased.prompt_id, "was erased"),
        (closed.prompt_id, "closed before the prompt could be sent"),
        (late.prompt_id, "passed its deadline"),
        (answered.prompt_id, "answered already"),
        (999_999, "no longer exists"),
    ]
    with rt.transaction() as session:
        for prompt_id, says in cases:
            with pytest.raises(Rejected, match=says):
                message_for(session, rt.settings, prompt_id, False, now=NOW)
