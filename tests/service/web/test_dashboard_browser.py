"""In a real Chromium: a product owner signs in, follows the must-do list, reads a sprint summary with its charts and
an epic's value case; axe-core finds no serious or critical violation, and the case prints without navigation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from service.domain.kinds import Kind
from service.domain.taxonomy import load_for
from service.runtime import runtime
from service.valuelog import chain
from tests.browser import accessibility_violations, browser_page, live_server  # noqa: F401
from tests.conftest import token_for
from tests.service.summaries import sprint

pytestmark = pytest.mark.browser


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PVM_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def serious(page: Any) -> list[str]:
    return [v for v in accessibility_violations(page) if "(serious)" in v or "(critical)" in v]


@pytest.fixture
def built(app) -> sprint.Sprint:
    rt = runtime(app)
    with rt.transaction() as session:
        ids = sprint.build(session, rt.settings, load_for(None))
        chain.append(
            session,
            kind=Kind.VALUE_ALERT,
            subject="jira:PRM-1",
            data={"type": "co-destruction", "iteration": sprint.SPRINT_37, "rule": "co", "text": "Civil servants -2"},
            actor="rules",
            source="rules",
        )
    return ids


def sign_in(page: Any, base: str, app) -> None:
    page.goto(f"{base}/dashboard")
    page.fill("#token", token_for(app, "product-owner", name="po-permits"))
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/dashboard")


def test_dashboard_summary_charts_and_case(app, built, live_server, browser_page, tmp_path: Path) -> None:  # noqa: F811
    page, base = browser_page, live_server
    sign_in(page, base, app)
    assert page.locator("h1").inner_text() == "Dashboard"
    mustdo = page.locator(".mustdo").inner_text()
    assert "Co-destruction and divergence alerts (1)" in mustdo
    # H2 names it-developer and Eve was asked; H1's groups were asked too: nothing never asked but the scenario's.
    assert "Groups never asked" in mustdo
    assert serious(page) == []
    screenshot(page, tmp_path, "dashboard")

    page.click("text=co-destruction on jira:PRM-1")
    page.wait_for_url(f"{base}/epics/jira:PRM-1/case")
    assert page.locator("h1").inner_text() == "Value case: Publish refusal rules"
    body = page.locator("main").inner_text()
    assert "co-destruction: Civil servants -2" in body and "status active → supported (appeals fell)" in body
    assert serious(page) == []
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    assert page.locator("h1").is_visible()
    screenshot(page, tmp_path, "case-print")
    page.emulate_media(media="screen")

    page.goto(f"{base}/dashboard")
    page.click("text=Sprint 37")
    page.wait_for_url(f"{base}/iterations/jira:sprint/37")
    assert "Sprint value summary: Sprint 37" in page.locator("main").inner_text()
    images = page.locator(".charts img")
    assert images.count() >= 3  # H1: answers and measure; H2: answers
    for index in range(images.count()):
        source = images.nth(index).get_attribute("src")
        assert images.nth(index).get_attribute("alt")
        response = page.request.get(base + source)
        assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
        assert "<script" not in response.text() or "src=" not in response.text().split("<script", 1)[1][:200]
    assert page.locator("caption:has-text('Mean answer per group and iteration')").count() >= 2
    assert page.locator("caption:has-text('Readings of refusals appealed')").count() == 1
    assert serious(page) == []
    screenshot(page, tmp_path, "summary")

    page.select_option("#framework", index=1)
    page.click("button:has-text('Show')")
    assert "framework=" in page.url and "Tickets per category of" in page.locator("main").inner_text()


def test_unknown_pages_say_what_to_do(app, built, live_server, browser_page) -> None:  # noqa: F811
    page, base = browser_page, live_server
    sign_in(page, base, app)
    response = page.goto(f"{base}/iterations/jira:sprint/99")
    assert response.status == 404 and "Pick an iteration on the dashboard" in page.locator("main").inner_text()
    response = page.goto(f"{base}/iterations/jira:sprint/37?framework=nope")
    assert response.status == 422 and "the taxonomy knows:" in page.locator("main").inner_text()
    response = page.goto(f"{base}/epics/jira:NOPE-1/case")
    assert response.status == 404 and "Pick an epic from the list of epics" in page.locator("main").inner_text()
