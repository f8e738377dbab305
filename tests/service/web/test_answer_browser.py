"""In a real Chromium: a stakeholder answers through their link with the mouse and with the keyboard alone; expired and
reused links; axe-core finds no accessibility violation on the form, the thank-you page or a problem page."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound
from tests.browser import accessibility_violations, browser_page, focus_ring, live_server, small_targets  # noqa: F401
from tests.conftest import token_for
from tests.service.web.checkins import EPIC_TITLE, STATEMENT, Asked, answer_path, open_round

pytestmark = pytest.mark.browser


@pytest.fixture
def asked(app):
    with runtime(app).transaction() as session:
        return open_round(session, [Asked("Ana Costa"), Asked("Ben Okafor", "civil-servant")], owner="Maria Schulz")


@pytest.fixture
def csp_errors(browser_page) -> list[str]:  # noqa: F811
    """Everything the pages' Content-Security-Policy refused: inline script or style would show up here."""
    refused: list[str] = []
    browser_page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PVM_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def answer_of(app, prompt_id: int) -> tuple[CheckinAnswer | None, CheckinPrompt]:
    with runtime(app).transaction() as session:
        answer = session.scalar(select(CheckinAnswer).where(CheckinAnswer.prompt_id == prompt_id))
        prompt = session.get(CheckinPrompt, prompt_id)
        session.expunge_all()
        return answer, prompt


def test_answering_through_the_form_records_the_answer_and_uses_the_link(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    csp_errors,
    tmp_path: Path,
) -> None:
    page = browser_page
    page.goto(live_server + answer_path(app, asked.prompt_ids[0]))
    assert page.locator("h1").inner_text() == f"Your view on “{EPIC_TITLE}”"
    assert STATEMENT in page.locator(".plain-hypothesis").inner_text()
    page.get_by_label("Some value lost").check()
    page.get_by_label("Medium").check()
    page.get_by_label("Which public value does it touch most? (optional)").select_option(label="Privacy and security")
    page.get_by_label("What have you noticed? (optional)").fill("Der Status zeigt meinen Namen ohne Anmeldung.")
    page.get_by_label("A link that shows it (optional)").fill("https://example.org/screenshot")
    page.get_by_label("Who is worse off, or not represented? (optional)").fill("Menschen ohne Smartphone")
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    assert page.locator("h1").inner_text() == "Thank you: your answer is recorded"
    screenshot(page, tmp_path, "answer-thanks")
    # The receipt: the entry's number and fingerprint, and the proof link, readable and wrapped on the page.
    receipt = page.get_by_role("region", name="Your receipt")
    assert receipt.is_visible()
    assert receipt.locator("#receipt-seq").inner_text().isdigit()
    assert len(receipt.locator("#receipt-hash").inner_text()) == 64
    assert receipt.get_by_role("link").get_attribute("href").startswith("http://pvm.test/log/proof/")

    answer, prompt = answer_of(app, asked.prompt_ids[0])
    assert answer is not None
    assert (answer.score, answer.confidence, answer.dimension, answer.channel) == (
        -1,
        "medium",
        "privacy-security",
        "link",
    )
    assert (
        answer.text == "Der Status zeigt meinen Namen ohne Anmeldung."
        and answer.worse_off == "Menschen ohne Smartphone"
    )
    assert answer.evidence_url == "https://example.org/screenshot"
    assert prompt.link_used_at is not None and prompt.answered_at is not None
    assert csp_errors == []


def test_a_reused_link_says_it_was_used_and_whom_to_contact(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
) -> None:
    page = browser_page
    link = live_server + answer_path(app, asked.prompt_ids[0])
    page.goto(link)
    page.get_by_label("No difference").check()
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    page.goto(link)
    assert page.locator("h1").inner_text() == "This link has already been used"
    body = page.locator("main").inner_text()
    assert "Each link answers once" in body and "contact Maria Schulz, who owns this part of the work" in body
    assert page.locator("form").count() == 0
    with runtime(app).transaction() as session:
        assert [a.score for a in session.scalars(select(CheckinAnswer))] == [0]


def test_an_expired_link_says_so_and_records_nothing(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    tmp_path: Path,
) -> None:
    with runtime(app).transaction() as session:
        session.get(CheckinRound, asked.id).deadline = datetime.now(UTC) - timedelta(hours=1)
    page = browser_page
    response = page.goto(live_server + answer_path(app, asked.prompt_ids[0]))
    assert response is not None and response.status == 410
    assert page.locator("h1").inner_text() == "The time to answer is over"
    body = page.locator("main").inner_text()
    assert "were due by" in body and "Maria Schulz" in body and "Nothing was recorded" in body
    screenshot(page, tmp_path, "answer-expired")
    assert answer_of(app, asked.prompt_ids[0])[0] is None


def test_the_whole_form_by_keyboard_alone(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    csp_errors,
) -> None:
    """Tab, Space, the arrow keys and Enter, no mouse: a mistake first, then the error summary leads to the field."""
    page, keys = browser_page, browser_page.keyboard
    page.goto(live_server + answer_path(app, asked.prompt_ids[1]))

    # Straight to the button and send: the score is missing.
    for _ in range(20):
        keys.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    assert page.evaluate("document.activeElement.textContent") == "Send my answer"
    with page.expect_navigation():
        keys.press("Enter")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.className") == "error-summary"  # read out first
    keys.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#score-0"
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == "score-0"  # the summary's link lands on the field

    # The score: Space chooses the focused step, the arrow keys move within the group.
    keys.press("Space")
    for _ in range(4):
        keys.press("ArrowDown")
    assert page.evaluate("document.querySelector('input[name=score]:checked').value") == "2"
    assert focus_ring(page) == "score-4 solid 3px"
    keys.press("Tab")
    assert focus_ring(page) == "confidence-0 solid 3px"
    keys.press("Space")
    keys.press("ArrowDown")
    keys.press("ArrowDown")
    assert page.evaluate("document.querySelector('input[name=confidence]:checked').value") == "high"
    keys.press("Tab")
    assert focus_ring(page) == "dimension solid 3px"
    for _ in range(5):  # Service quality, Accessibility and inclusion, Efficiency, Policy outcomes, Transparency
        keys.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "transparency"
    keys.press("Tab")
    keys.type("Die Bescheide sind jetzt verständlich.")
    keys.press("Tab")
    keys.type("https://example.org/bescheid")
    keys.press("Tab")
    assert focus_ring(page) == "worse_off solid 3px"
    keys.type("Menschen mit wenig Deutsch")
    keys.press("Tab")
    assert focus_ring(page).startswith("BUTTON solid 3px")
    keys.press("Enter")
    page.wait_for_url(re.compile(r".*/thanks(#score-0)?$"))  # a redirect keeps the fragment the summary link set

    answer, prompt = answer_of(app, asked.prompt_ids[1])
    assert answer is not None and prompt.link_used_at is not None
    assert (answer.score, answer.confidence, answer.dimension, answer.group) == (
        2,
        "high",
        "transparency",
        "civil-servant",
    )
    assert answer.text == "Die Bescheide sind jetzt verständlich."
    assert (answer.evidence_url, answer.worse_off) == ("https://example.org/bescheid", "Menschen mit wenig Deutsch")
    assert csp_errors == []


def test_axe_finds_no_violation_on_the_form_the_thank_you_page_and_the_problem_pages(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    csp_errors,
    tmp_path: Path,
) -> None:
    page = browser_page
    link = live_server + answer_path(app, asked.prompt_ids[0])
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        checked[name] = accessibility_violations(page) + small_targets(page)

    page.goto(link)
    check("form")
    page.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10: no sideways scrolling at 320 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check("form on a small phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("A link that shows it (optional)").fill("not a link")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answer").click()
    check("form with errors")
    screenshot(page, tmp_path, "answer-errors")
    page.get_by_label("Some value created").check()
    page.get_by_label("A link that shows it (optional)").fill("")
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    check("thank-you page")
    page.goto(link)
    check("used link")
    page.goto(link.rsplit(".", 1)[0] + ".forged")
    assert page.locator("h1").inner_text() == "This link does not work"
    check("tampered link")
    assert checked == {name: [] for name in checked}
    assert csp_errors == []


def test_axe_finds_no_violation_on_the_product_owners_pages(
    app,
    asked,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    csp_errors,
    tmp_path: Path,
) -> None:
    page = browser_page
    page.goto(f"{live_server}/signin")
    page.fill("#token", token_for(app, "product-owner", name="po-maria"))
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/epics")
    checked: dict[str, list[str]] = {}
    page.goto(f"{live_server}/checkins/{asked.id}")
    assert page.locator("img.qr").count() == 2
    assert all(page.evaluate("[...document.images].map(i => i.naturalWidth > 0)"))  # the QR codes load
    checked["round"] = accessibility_violations(page)
    screenshot(page, tmp_path, "round")
    page.goto(f"{live_server}/stakeholders")
    checked["stakeholders"] = accessibility_violations(page)
    page.goto(f"{live_server}/stakeholders/new")
    page.get_by_label("E-mail address (optional)").fill("not-an-address")
    with page.expect_navigation():
        page.get_by_role("button", name="Add stakeholder").click()
    assert page.locator("#email-error").is_visible()
    checked["stakeholder form with errors"] = accessibility_violations(page)
    page.goto(f"{live_server}/stakeholders/{asked.stakeholder_ids[0]}")
    checked["stakeholder"] = accessibility_violations(page)
    assert checked == {name: [] for name in checked}
    assert csp_errors == []
