"""In a real Chromium: every main page loads under its Content-Security-Policy without a single violation (no inline
script or style left in the templates), and still looks as designed (the stylesheets it may load did apply)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from service.hypotheses.blocks import sync_from_description
from service.runtime import runtime
from tests.browser import browser_page, live_server  # noqa: F401  (fixtures)
from tests.conftest import token_for
from tests.service.web.checkins import Asked, answer_path, open_round
from tests.service.web.test_hypothesis_pages import BLOCK

pytestmark = pytest.mark.browser

EPIC = "jira:BEN-12"  # the epic of the round fixture, given a hypothesis block too


@pytest.fixture
def violations(browser_page) -> list[str]:  # noqa: F811
    """Console messages about the Content-Security-Policy, and script errors, from the moment the page opens."""
    seen: list[str] = []
    browser_page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    browser_page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


@pytest.fixture
def data(app) -> dict[str, Any]:
    with runtime(app).transaction() as session:
        asked = open_round(
            session, [Asked("Ana Costa"), Asked("Ben Okafor", "civil-servant", email="ben@city.example")]
        )
        sync_from_description(session, epic_key=EPIC, description=BLOCK, actor="jira:maria", source="jira")
    return {"round": asked.id, "stakeholder": asked.stakeholder_ids[0], "answer": answer_path(app, asked.prompt_ids[0])}


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PVM_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"csp-{name}.png"), full_page=True)


def test_main_pages_load_without_a_csp_violation(app, data, live_server, browser_page, violations, tmp_path) -> None:  # noqa: F811
    page = browser_page
    page.goto(f"{live_server}/signin")
    page.fill("#token", token_for(app, "admin", name="csp-admin"))
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server}/epics")

    pages = {
        "epics": "/epics",
        "epic": f"/epics/{EPIC}",
        "new-hypothesis": f"/hypotheses/new?epic={EPIC}",
        "edit-hypothesis": "/hypotheses/1/edit",
        "stakeholders": "/stakeholders",
        "stakeholder": f"/stakeholders/{data['stakeholder']}",
        "stakeholder-form": f"/stakeholders/{data['stakeholder']}/edit",
        "stakeholder-erase": f"/stakeholders/{data['stakeholder']}/erase",
        "new-stakeholder": "/stakeholders/new",
        "rounds": "/checkins",
        "round": f"/checkins/{data['round']}",
        "not-found": "/epics/jira:NOPE-1",
        "answer": data["answer"],
        "bad-link": "/answer/not-a-real-link",
    }
    for name, path in pages.items():
        answer = page.goto(live_server + path)
        assert answer is not None and answer.status < 500, f"{name}: {answer and answer.status}"
        page.wait_for_load_state("networkidle")
        assert violations == [], f"{name} ({path}): {violations}"
        # style.css applied: the page's font is the stylesheet's, not the browser's default serif.
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert font.strip().lower() != "serif" and "Times" not in font, f"{name}: no stylesheet ({font})"
        screenshot(page, tmp_path, name)

    # The dimension chips take their colour from /dimensions.css, not from a style attribute the policy would drop.
    page.goto(f"{live_server}/epics/{EPIC}")
    chip = page.locator(".chip.dimension-transparency").first
    assert chip.evaluate("el => getComputedStyle(el).borderTopColor") != "rgb(0, 0, 0)"
    assert page.locator("[style]").count() == 0
    # The QR code of a link-only person is an image from this site, allowed by img-src 'self'.
    page.goto(f"{live_server}/checkins/{data['round']}")
    qr = page.locator("img.qr").first
    assert qr.evaluate("el => el.complete && el.naturalWidth > 0")
    assert violations == []


def test_an_inline_script_would_be_refused(app, live_server, browser_page, violations) -> None:  # noqa: F811
    """The check above can fail: a script injected into a page is blocked and reported."""
    page = browser_page
    page.goto(f"{live_server}/signin")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None
    assert any("Content Security Policy" in text for text in violations)
