"""In a real browser: sign in with a token, state a hypothesis through the form, see it on the epic page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.runtime import runtime
from tests.browser import browser_page, live_server  # noqa: F401  (fixtures)
from tests.conftest import token_for
from tests.epics import add_epic

EPIC = "jira:BEN-12"


@pytest.mark.browser
def test_sign_in_state_a_hypothesis_and_see_it(app, live_server, browser_page, tmp_path: Path) -> None:  # noqa: F811
    with runtime(app).transaction() as session:
        add_epic(
            session,
            EPIC,
            title="Antragsstatus online einsehen",
            children={"jira:BEN-13": ["value:service-quality"], "jira:BEN-14": ["value-risk:privacy"]},
        )
    secret = token_for(app, "product-owner", name="po-leistungen")
    page = browser_page

    page.goto(f"{live_server}/epics/{EPIC}")
    assert "/signin" in page.url
    page.fill("#token", secret)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server}/epics/{EPIC}")
    assert page.locator("h1").inner_text() == "Antragsstatus online einsehen"

    page.click("text=State a hypothesis")
    page.fill("#statement", "Wir glauben, dass ein Online-Status für Antragstellende zu weniger Anrufen führt")
    page.check("label:has-text('Service quality') >> xpath=preceding-sibling::input")
    page.check("label:has-text('Efficiency') >> xpath=preceding-sibling::input")
    page.check("label:has-text('Citizens') >> xpath=preceding-sibling::input")
    page.fill("#measure_name", "Anrufe pro Woche")
    page.fill("#target_value", "300")
    page.fill("#target_date", "2027-03-31")
    page.click("button:has-text('Save hypothesis')")
    # The target has no baseline: the error is shown next to the baseline field, nothing is saved.
    error = page.locator("#baseline_value-error")
    assert "a target needs a baseline" in error.inner_text()
    screenshots = Path(os.environ.get("PVM_SCREENSHOT_DIR") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "form-with-error.png"), full_page=True)

    page.fill("#baseline_value", "1200")
    page.fill("#baseline_date", "2026-10-01")
    page.fill("#baseline_source", "Telefonanlage")
    page.fill("#risks", "privacy-security | Status für Falsche sichtbar | Beschwerden über Datenschutz")
    page.click("button:has-text('Save hypothesis')")
    page.wait_for_url(f"{live_server}/epics/jira:BEN-12")
    body = page.locator("main").inner_text()
    assert "Hypothesis saved." in body
    assert "Wir glauben, dass ein Online-Status für Antragstellende zu weniger Anrufen führt" in body
    assert "baseline 1200 on 2026-10-01 (Telefonanlage)" in body
    assert "hypothesis.created" in body and "token:po-leistungen" in body
    page.screenshot(path=str(screenshots / "epic-page.png"), full_page=True)
