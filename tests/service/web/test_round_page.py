"""The product owner's round page: the hypothesis, the response so far, each prompt's delivery, and the personal links
and QR codes of link-only people, which no other role may see."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import segno

from service.checkins import links
from service.runtime import runtime
from service.storage.models import CheckinPrompt, CheckinRound, OutboxItem
from tests.service.web.checkins import EPIC, STATEMENT, Asked, open_round
from tests.service.web.test_answer_form import text
from tests.service.web.test_hypothesis_pages import sign_in

PEOPLE = [
    Asked("Ana Costa"),  # link only, not answered
    Asked("Ben Okafor", "civil-servant", "email", "ben@example.org"),  # delivered, answered
    Asked("Chen Wei", "civil-servant", "email", "chen@example.org"),  # undelivered, retried by itself
    Asked("Dara Quinn", "citizen", "email", "dara@example.org"),  # dead letter, reminded
    Asked("Emil Berg"),  # link only, answered by link
]


def outbox(session, status: str, *, attempts: int = 1, error: str | None = None) -> int:
    item = OutboxItem(tracker="email", action="send_email", target="someone", body={}, status=status)
    item.attempts, item.error = attempts, error
    if status == "sent":
        item.finished_at = datetime.now(UTC)
    session.add(item)
    session.flush()
    return item.id


@pytest.fixture
def round_(app):
    now = datetime.now(UTC)
    with runtime(app).transaction() as session:
        asked = open_round(session, PEOPLE, owner="Maria Schulz")
        session.get(CheckinRound, asked.id).remind_at = now + timedelta(days=5)
        _, ben, chen, dara, emil = (session.get(CheckinPrompt, i) for i in asked.prompt_ids)
        ben.outbox_id, ben.answered_at = outbox(session, "sent"), now
        chen.outbox_id = outbox(session, "failed", attempts=2, error="SMTP server unreachable")
        dara.outbox_id = outbox(session, "dead", attempts=8, error="550 mailbox unknown")
        dara.reminder_outbox_id, dara.reminded_at = outbox(session, "recorded"), now
        emil.link_used_at = emil.answered_at = now
    return asked


def qr_path(asked, index: int, round_id: int | None = None) -> str:
    return f"/checkins/{round_id or asked.id}/prompts/{asked.prompt_ids[index]}/qr.svg"


def link_of(app, prompt_id: int) -> str:
    with runtime(app).transaction() as session:
        return links.url(runtime(app).settings, session.get(CheckinPrompt, prompt_id))


def test_the_round_page_shows_the_response_so_far_and_each_prompts_state(app, round_) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner", name="po-maria")
    response = client.get(f"/checkins/{round_.id}")
    assert response.status_code == 200
    page = text(response)
    for expected in (
        STATEMENT,
        EPIC,
        "Sprint 37",
        "Deadline",
        "2 of 5 people asked have answered (40%)",
        "Citizens: 1 of 3",
        "Civil servants: 1 of 2",
    ):
        assert expected in page, expected

    def row(index: int) -> str:
        start = page.index(f'id="prompt-{round_.prompt_ids[index]}"')
        return page[start : page.index("</tr>", start)]

    assert "hand over" in row(0) and "not yet" in row(0) and "due " in row(0)
    assert "delivered" in row(1) and "answered" in row(1) and "not needed" in row(1)
    assert "undelivered" in row(2) and "SMTP server unreachable" in row(2) and "tried again by itself" in row(2)
    assert "undelivered" in row(3) and "550 mailbox unknown" in row(3)
    assert "pvm outbox retry" in row(3) and "reminded: recorded" in row(3)
    assert "answered" in row(4)
    assert response.headers["Cache-Control"] == "no-store" and "Content-Security-Policy" in response.headers


def test_link_only_people_get_their_link_and_a_qr_code_and_nobody_else_does(app, round_) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    page = text(client.get(f"/checkins/{round_.id}"))
    ana_link = link_of(app, round_.prompt_ids[0])
    assert f'value="{ana_link}"' in page and f'src="{qr_path(round_, 0)}"' in page
    assert 'alt="QR code of the answer link for Ana Costa"' in page
    # E-mailed people's links stay in their mail; a used link is not handed over again.
    for index in (1, 2, 3, 4):
        assert link_of(app, round_.prompt_ids[index]).rsplit("/", 1)[1] not in page
    assert "they have answered with it" in page


def test_the_qr_code_is_an_svg_of_the_persons_link(app, round_) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    response = client.get(qr_path(round_, 0))
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    expected = io.BytesIO()
    segno.make(link_of(app, round_.prompt_ids[0]), error="m").save(
        expected, kind="svg", scale=5, border=4, dark="#000", light="#fff", xmldecl=False, title="Answer link"
    )
    assert response.data == expected.getvalue()  # the same modules as a code of exactly that link


@pytest.mark.parametrize(
    ("index", "round_offset", "status", "says"),
    [
        (1, 0, 404, "goes by email"),  # not a link-only prompt
        (4, 0, 410, "can no longer answer (used)"),
        (0, 1, 404, "has no prompt"),  # a prompt of another round
    ],
)
def test_no_qr_code_where_there_is_no_link_to_hand_over(app, round_, index, round_offset, status, says) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    response = client.get(qr_path(round_, index, round_.id + round_offset))
    assert response.status_code == status and says in text(response)


@pytest.mark.parametrize("role", ["auditor", "team"])
def test_other_roles_see_neither_the_round_page_nor_a_qr_code(app, round_, role) -> None:
    client = app.test_client()
    sign_in(client, app, role)
    for path in (f"/checkins/{round_.id}", qr_path(round_, 0), "/checkins"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "roles that may: product-owner, admin" in text(response)
        assert link_of(app, round_.prompt_ids[0]) not in text(response)
    assert client.get(f"/epics/{EPIC}").status_code == 200
    assert f"/checkins/{round_.id}" not in text(client.get(f"/epics/{EPIC}"))


def test_signed_out_visitors_are_sent_to_sign_in(app, round_) -> None:
    response = app.test_client().get(qr_path(round_, 0))
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next=")


def test_the_rounds_list_and_the_epic_page_lead_to_the_round(app, round_) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    listing = text(client.get("/checkins"))
    assert f'href="/checkins/{round_.id}"' in listing and "2 of 5" in listing and STATEMENT in listing
    assert f'href="/checkins/{round_.id}"' in text(client.get(f"/epics/{EPIC}"))
    assert client.get("/checkins/999").status_code == 404


def test_a_group_nobody_could_be_asked_from_is_named_with_what_to_do(app) -> None:
    with runtime(app).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa")])
        session.get(CheckinRound, asked.id).unreachable_groups = ["civil-servant"]
    client = app.test_client()
    sign_in(client, app, "admin")
    page = text(client.get(f"/checkins/{asked.id}"))
    assert re.search(r"Nobody to ask from Civil servants: add stakeholders of this group", page)
