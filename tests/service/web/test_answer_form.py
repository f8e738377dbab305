"""The answer form behind a person's link, through Flask's test client: what it shows, what it records, and the
page for each link that cannot answer (which records nothing)."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.checkins.messages import QUESTION
from service.runtime import runtime
from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound, Stakeholder, ValueLogEntry
from tests.service.web.checkins import EPIC_TITLE, STATEMENT, Asked, answer_path, open_round

VALID = {"score": "-2", "confidence": "high", "dimension": "accessibility-inclusion", "text": "Too small to read"}


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form has no CSRF token"
    return match.group(1)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def checked(page: str, name: str) -> list[str]:
    """The values of the radio buttons of a group that the page shows as chosen."""
    return re.findall(rf'<input checked id="[^"]+" name="{name}" type="radio" value="([^"]+)">', page)


def counts(app) -> tuple[int, int]:
    """(answers, value-log entries): what a refused visit must leave unchanged."""
    with runtime(app).transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(CheckinAnswer)) or 0,
            session.scalar(select(func.count()).select_from(ValueLogEntry)) or 0,
        )


@pytest.fixture
def asked(app):
    with runtime(app).transaction() as session:
        return open_round(
            session,
            [Asked("Ana Costa"), Asked("Ben Okafor", "civil-servant", "email", "ben@example.org"), Asked(None)],
        )


def post(client, path: str, **fields: str):
    return client.post(path, data={"csrf_token": csrf(client.get(path).get_data(as_text=True)), **fields})


def test_the_form_shows_the_hypothesis_in_plain_words_and_every_score_with_its_words(app, asked) -> None:
    client = app.test_client()
    response = client.get(answer_path(app, asked.prompt_ids[0]))
    assert response.status_code == 200
    page = text(response)
    for expected in (STATEMENT, EPIC_TITLE, "Citizens, Civil servants", "You are asked as", "Answer by"):
        assert expected in page, expected
    assert f"<legend>{html.escape(QUESTION)}</legend>" in page  # the question every channel asks
    labels = re.findall(r'<label for="score-\d">(.*?)</label>', page)
    assert [re.sub(r"<[^>]+>", "", label) for label in labels] == [
        "\N{MINUS SIGN}2 Value destroyed",  # a minus sign, read out as "minus" where a hyphen may not be
        "\N{MINUS SIGN}1 Some value lost",
        "0 No difference",
        "+1 Some value created",
        "+2 Value clearly created",
    ]
    assert '<option value="transparency">Transparency</option>' in page
    assert "Who is worse off, or not represented?" in page
    assert "Sign in" not in page  # nothing on it asks for an account
    # No inline script or style anywhere, so a strict Content-Security-Policy holds; and it is sent.
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", page, re.IGNORECASE)
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # The link is a capability: never sent on to another site (only back here, where the form's own post needs it).
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_answer_is_recorded_logged_and_the_link_used_then_thanks(app, asked) -> None:
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    response = post(
        client,
        path,
        **VALID,
        evidence_url="https://example.org/report",
        worse_off="people without a smartphone",
    )
    assert response.status_code == 303 and response.headers["Location"] == f"{path}/thanks"
    with runtime(app).transaction() as session:
        (answer,) = session.scalars(select(CheckinAnswer))
        prompt = session.get(CheckinPrompt, asked.prompt_ids[0])
        assert (answer.score, answer.confidence, answer.dimension, answer.group) == (
            -2,
            "high",
            "accessibility-inclusion",
            "citizen",
        )
        assert (answer.text, answer.evidence_url, answer.worse_off) == (
            "Too small to read",
            "https://example.org/report",
            "people without a smartphone",
        )
        assert answer.channel == "link" and answer.actor == f"stakeholder:{asked.stakeholder_ids[0]}"
        assert answer.prompt_id == prompt.id and answer.stakeholder_id == asked.stakeholder_ids[0]
        assert prompt.link_used_at is not None and prompt.answered_at is not None
        kinds = [e.kind for e in session.scalars(select(ValueLogEntry).order_by(ValueLogEntry.seq))]
        logged = session.scalar(select(ValueLogEntry).where(ValueLogEntry.kind == "checkin.answered"))
        fired = list(session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "rule.fired")))
    assert "checkin.answered" in kinds
    assert logged.actor == f"stakeholder:{asked.stakeholder_ids[0]}" and logged.source == "link"
    assert "Too small to read" not in logged.canonical.decode()  # a commitment, never the words
    # The rules ran in the same transaction: a citizen mean of -2 is co-destruction.
    assert any(entry.data.get("rule") == "co-destruction-alert" for entry in fired), [e.data for e in fired]

    thanks = text(client.get(f"{path}/thanks"))
    for expected in (
        "Thank you: your answer is recorded",
        "What happens next",
        "value summary of the iteration “Sprint 37”",
        "The product owner sees your score",
        "can be erased on request",
        "cannot answer again",
    ):
        assert expected in thanks, expected


def test_a_link_without_a_stakeholder_answers_as_the_link(app, asked) -> None:
    client = app.test_client()
    response = post(client, answer_path(app, asked.prompt_ids[2]), score="1")
    assert response.status_code == 303
    with runtime(app).transaction() as session:
        (answer,) = session.scalars(select(CheckinAnswer))
    assert answer.actor == f"link:{asked.prompt_ids[2]}" and answer.stakeholder_id is None
    assert (answer.score, answer.text, answer.confidence, answer.dimension) == (1, None, None, None)


def test_errors_are_shown_by_their_fields_in_plain_words_with_a_summary_and_the_values_kept(app, asked) -> None:
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    response = post(
        client, path, confidence="medium", text="x" * 5001, evidence_url="example.org/report", worse_off="Older people"
    )
    assert response.status_code == 422
    page = text(response)
    assert page.startswith("<!doctype html>") and "<title>Error: " in page
    summary = page[page.index('class="error-summary"') : page.index("</div>", page.index('class="error-summary"'))]
    assert re.findall(r'href="#([^"]+)"', summary) == ["score-0", "text", "evidence_url"]
    assert 'id="score-error"' in page and "Choose one answer" in page
    assert 'id="text-error"' in page and "Shorten this to 5,000 characters or fewer (it has 5,001)." in page
    assert 'id="evidence_url-error"' in page and "starts with https://" in page
    assert 'aria-describedby="evidence_url-hint evidence_url-error"' in page and 'aria-invalid="true"' in page
    assert "String should" not in page and "Input should" not in page  # no validator's words
    # What was typed is still there.
    assert checked(page, "confidence") == ["medium"] and checked(page, "score") == []
    assert 'value="example.org/report"' in page and "\nOlder people</textarea>" in page
    assert counts(app)[0] == 0
    with runtime(app).transaction() as session:
        assert session.get(CheckinPrompt, asked.prompt_ids[0]).link_used_at is None

    # Corrected, it goes through.
    assert post(client, path, score="0", evidence_url="https://example.org/report").status_code == 303


def test_an_unknown_dimension_or_score_sent_by_hand_is_refused_in_words(app, asked) -> None:
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    out_of_range = post(client, path, score="3")
    assert out_of_range.status_code == 422 and 'id="score-error"' in text(out_of_range)
    unknown = post(client, path, score="1", dimension="happiness")
    assert unknown.status_code == 422
    assert 'id="dimension-error"' in text(unknown) and "Choose a value from the list" in text(unknown)
    assert counts(app)[0] == 0


@pytest.mark.parametrize(
    ("problem", "status", "says"),
    [
        ("expired", 410, ["The time to answer is over", "were due by"]),
        ("closed", 410, ["This check-in has closed", "closed on"]),
        ("used", 410, ["This link has already been used", "Each link answers once"]),
    ],
)
def test_a_link_that_cannot_answer_says_which_and_whom_to_contact_and_records_nothing(
    app, problem, status, says
) -> None:
    with runtime(app).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa")], owner="Maria Schulz (Bürgerservice)")
        round_ = session.get(CheckinRound, asked.id)
        prompt = session.get(CheckinPrompt, asked.prompt_ids[0])
        if problem == "expired":
            round_.deadline = datetime.now(UTC) - timedelta(minutes=1)
        elif problem == "closed":
            round_.status, round_.closed_at = "closed", datetime.now(UTC) - timedelta(hours=1)
        else:
            prompt.link_used_at = prompt.answered_at = datetime.now(UTC) - timedelta(hours=2)
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    before = counts(app)
    response = client.get(path)
    assert response.status_code == status
    page = text(response)
    for expected in [*says, "Maria Schulz (Bürgerservice), who owns this part of the work", STATEMENT]:
        assert expected in page, expected
    assert "<form" not in page and "Nothing was recorded" in page
    # A form sent anyway (opened before the change) is refused the same way.
    session_token = csrf(client.get("/signin").get_data(as_text=True))
    refused = client.post(path, data={"csrf_token": session_token, **VALID})
    assert refused.status_code == status and says[0] in text(refused)
    assert counts(app) == before


def test_without_an_owner_the_product_owner_of_the_project_is_the_contact(app) -> None:
    with runtime(app).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa")], deadline=datetime.now(UTC) - timedelta(days=1))
    page = text(app.test_client().get(answer_path(app, asked.prompt_ids[0])))
    assert f"the product owner of “{EPIC_TITLE}” (project jira:BEN)" in page


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),  # signature broken
        lambda token: token[: len(token) // 2],  # cut in two by a mail program
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_link_says_so_and_whom_to_ask(app, asked, mangle) -> None:
    token = answer_path(app, asked.prompt_ids[0]).removeprefix("/answer/")
    client = app.test_client()
    response = client.get(f"/answer/{mangle(token)}")
    assert response.status_code == 404
    page = text(response)
    assert "This link does not work" in page and "Copy the whole link" in page
    assert "the person or team who sent you the link" in page
    assert STATEMENT not in page  # a forged link learns nothing about the hypothesis
    assert counts(app)[0] == 0


def test_a_link_whose_nonce_changed_is_tampered(app, asked) -> None:
    path = answer_path(app, asked.prompt_ids[0])
    with runtime(app).transaction() as session:
        session.get(CheckinPrompt, asked.prompt_ids[0]).nonce = "replaced-nonce"
    assert app.test_client().get(path).status_code == 404


def test_an_erased_persons_link_takes_no_new_words(app, asked) -> None:
    path = answer_path(app, asked.prompt_ids[0])
    with runtime(app).transaction() as session:
        session.get(Stakeholder, asked.stakeholder_ids[0]).erased_at = datetime.now(UTC)
    client = app.test_client()
    assert client.get(path).status_code == 404
    assert client.post(path, data=VALID).status_code in (400, 404)
    assert counts(app)[0] == 0


def test_a_second_send_of_the_same_form_is_refused_as_used(app, asked) -> None:
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    token = csrf(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, **VALID}).status_code == 303
    again = client.post(path, data={"csrf_token": token, **VALID, "score": "2"})
    assert again.status_code == 410 and "This link has already been used" in text(again)
    with runtime(app).transaction() as session:
        assert [a.score for a in session.scalars(select(CheckinAnswer))] == [-2]


def test_a_form_sent_without_its_csrf_token_comes_back_filled_in_and_records_nothing(app, asked) -> None:
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[0])
    response = client.post(path, data={**VALID, "worse_off": "Pensioners"})
    assert response.status_code == 400
    page = text(response)
    assert "Your answer was not sent yet" in page and "press “Send my answer” again" in page
    assert "\nPensioners</textarea>" in page and checked(page, "score") == ["-2"]
    assert counts(app)[0] == 0
    # The page carries a fresh token: sending it again works.
    assert client.post(path, data={"csrf_token": csrf(page), **VALID}).status_code == 303


def test_the_thank_you_page_of_an_unused_link_is_the_form(app, asked) -> None:
    path = answer_path(app, asked.prompt_ids[0])
    response = app.test_client().get(f"{path}/thanks")
    assert response.status_code == 302 and response.headers["Location"] == path


def test_two_sends_at_the_same_moment_record_one_answer_on_each_engine(any_app) -> None:
    """Two tabs, a double tap or two web processes: the link is claimed by one conditional update, so only one send
    records, whether the database is SQLite or PostgreSQL."""
    with runtime(any_app).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa")])
    path = answer_path(any_app, asked.prompt_ids[0])
    clients = [any_app.test_client() for _ in range(2)]
    tokens = [csrf(client.get(path).get_data(as_text=True)) for client in clients]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(index: int) -> None:
        start.wait()
        response = clients[index].post(path, data={"csrf_token": tokens[index], **VALID, "score": str(index)})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303, 410]
    with runtime(any_app).transaction() as session:
        assert len(list(session.scalars(select(CheckinAnswer)))) == 1
        assert session.scalar(select(func.count()).where(ValueLogEntry.kind == "checkin.answered")) == 1
