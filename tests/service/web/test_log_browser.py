"""In a real Chromium: an auditor signs in, browses and filters the value log (by mouse and by keyboard), opens an
entry, verifies the chain (then again after an attacker changed an entry), downloads the exports; walks every page
the nav leads to and finds no write action; and axe-core finds no violation on the auditor's pages, wide or on a
phone."""

from __future__ import annotations

import json
import os
import re
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import text

from service.runtime import runtime
from service.valuelog.verify import file_records, verify_records
from tests.browser import accessibility_violations, browser_page, focus_ring, live_server, small_targets  # noqa: F401
from tests.conftest import token_for
from tests.service.web.valuelog import EPIC, fill_log, post_routes, rewrite_as_attacker

pytestmark = pytest.mark.browser

# Addresses of the pages that write: an auditor must be offered none of them, by link or by button.
WRITE_ADDRESS = re.compile(r"/(new|edit|erase|retry|remove|assignments)(\b|/|\?|$)")
WRITE_WORDS = re.compile(r"\b(new|edit|erase|retry|add|delete|remove|assign|revoke|state a)\b", re.IGNORECASE)
PAGES_OF_A_KIND = 3  # the crawl opens at most this many pages of one shape (/log/N, /epics/K, ...)


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("PVM_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def csp_errors(browser_page) -> list[str]:  # noqa: F811
    """Everything the pages' Content-Security-Policy refused: inline script or style would show up here."""
    refused: list[str] = []
    browser_page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


@pytest.fixture
def auditor(app, live_server, browser_page) -> Any:  # noqa: F811
    """The log filled by real deliveries, and a browser signed in as an auditor, on the epics page."""
    fill_log(app, EPIC)
    secret = token_for(app, "auditor", name="audit-office")
    page = browser_page
    page.goto(f"{live_server}/signin")
    page.get_by_label("API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/epics")
    return page


def listed_seqs(page: Any) -> list[int]:
    """The seqs in the table, as read out ("entry 12"): the word is there for screen readers, hidden from the eye."""
    texts = page.locator("table.log tbody tr td:first-child a").all_text_contents()
    assert all(t.startswith("entry ") for t in texts), texts
    return [int(t.removeprefix("entry ")) for t in texts]


def stored_kinds(app) -> list[tuple[int, str, str]]:
    with runtime(app).engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT seq, kind, subject FROM value_log ORDER BY seq"))]


def test_browse_filter_open_an_entry_verify_and_download(
    app,
    auditor,
    live_server,  # noqa: F811
    csp_errors,
    tmp_path: Path,
) -> None:
    page, log = auditor, stored_kinds(app)
    page.get_by_role("link", name="Value log").click()
    page.wait_for_url(f"{live_server}/log")
    assert page.locator("h1").inner_text() == "Value log"
    assert listed_seqs(page) == [seq for seq, _, _ in log]
    screenshot(page, tmp_path, "log")

    # Filter: a family of kinds on one subject.
    page.get_by_label("Kind").fill("label.*")
    page.get_by_label("Subject").fill("jira:PERM-14")
    page.get_by_role("button", name="Show entries").click()
    page.wait_for_url(re.compile(r".*/log\?kind=label\.\*&subject=jira%3APERM-14.*"))
    wanted = [seq for seq, kind, subject in log if kind.startswith("label.") and subject == "jira:PERM-14"]
    assert listed_seqs(page) == wanted and len(wanted) >= 3
    assert page.get_by_label("Kind").input_value() == "label.*"
    screenshot(page, tmp_path, "log-filtered")

    # A typo is named next to its field, with the kind it probably meant; nothing is listed.
    page.get_by_label("Kind").fill("label.addd")
    page.get_by_role("button", name="Show entries").click()
    page.wait_for_load_state()
    assert "did you mean 'label.added'?" in page.locator(".error-summary").inner_text()
    assert "did you mean 'label.added'?" in page.locator("#filter-kind-error").inner_text()
    assert page.locator("table.log").count() == 0
    screenshot(page, tmp_path, "log-bad-filter")
    page.get_by_role("link", name="Clear the filters").click()
    page.wait_for_url(f"{live_server}/log")

    # An entry: its canonical bytes, hash and previous hash, checked.
    page.get_by_role("link", name="entry 3", exact=True).click()
    page.wait_for_url(f"{live_server}/log/3")
    with runtime(app).engine.connect() as conn:
        row = conn.execute(text("SELECT canonical, hash, prev_hash FROM value_log WHERE seq = 3")).one()
        before = conn.execute(text("SELECT hash FROM value_log WHERE seq = 2")).scalar()
    assert page.locator("#canonical-bytes").inner_text() == bytes(row.canonical).decode()
    assert page.locator("#entry-hash").inner_text() == row.hash
    assert page.locator("#entry-prev-hash").inner_text() == row.prev_hash == before
    assert "The SHA-256 of the canonical bytes below is this hash." in page.locator("main").inner_text()
    screenshot(page, tmp_path, "log-entry")
    page.get_by_role("link", name="Entry 2", exact=True).click()
    page.wait_for_url(f"{live_server}/log/2")

    # The verify of the whole chain: the count and the head.
    page.goto(f"{live_server}/log")
    page.get_by_role("link", name="Verify the whole chain").click()
    page.wait_for_url(f"{live_server}/log/verify")
    assert page.locator(".verdict h2").inner_text() == "The chain verifies"
    with runtime(app).engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM value_log ORDER BY seq DESC LIMIT 1")).one()
    assert page.locator("#verify-count").inner_text() == str(head.seq)
    assert page.locator("#verify-head").inner_text() == head.hash
    screenshot(page, tmp_path, "log-verify")

    # The downloads: the whole log as JSON Lines verifies; the selection as CSV holds only what was selected.
    page.goto(f"{live_server}/log?kind=label.added")
    with page.expect_download() as whole:
        page.get_by_role("link", name="JSON Lines").first.click()
    jsonl = Path(whole.value.path()).read_text(encoding="utf-8").splitlines()
    assert whole.value.suggested_filename == f"value-log-to-seq-{head.seq}.jsonl"
    result = verify_records(file_records(jsonl))
    assert result.ok and (result.entries, result.head) == (head.seq, head.hash)
    with page.expect_download() as selection:
        page.get_by_role("link", name="CSV").nth(1).click()
    rows = Path(selection.value.path()).read_text(encoding="utf-8").splitlines()
    assert selection.value.suggested_filename == f"value-log-filtered-to-seq-{head.seq}.csv"
    assert rows[0] == "seq,at,actor,source,kind,subject,data,prev_hash,hash"
    assert [int(line.split(",", 1)[0]) for line in rows[1:]] == [s for s, kind, _ in log if kind == "label.added"]
    assert csp_errors == []


def test_a_tampered_entry_is_named_as_the_first_broken_seq(app, auditor, live_server, tmp_path: Path) -> None:  # noqa: F811
    """On this test's own database an attacker with database access rewrites entry 6's data column; the hashed bytes
    no longer match it."""
    page = auditor
    rewrite_as_attacker(
        app,
        "UPDATE value_log SET data = :d WHERE seq = 6",
        d=json.dumps({"label": "value:efficiency", "note": "rewritten"}),
    )
    page.goto(f"{live_server}/log")
    page.get_by_role("link", name="Verify the whole chain").click()
    page.wait_for_url(f"{live_server}/log/verify")
    assert page.locator(".verdict h2").inner_text() == "The chain is broken at seq 6"
    assert page.locator("#verify-bad-seq").inner_text() == "6"
    assert "fields differ from the hashed bytes: a column was changed" in page.locator("#verify-reason").inner_text()
    assert page.locator("#verify-count").inner_text() == "5"
    screenshot(page, tmp_path, "log-verify-broken")
    page.get_by_role("link", name="entry 6", exact=True).click()
    page.wait_for_url(f"{live_server}/log/6")
    assert '"note": "rewritten"' in page.locator("main").inner_text()
    assert accessibility_violations(page) == []


def test_filter_by_keyboard_alone(auditor, live_server) -> None:  # noqa: F811
    page, keys = auditor, auditor.keyboard
    page.goto(f"{live_server}/log")
    for _ in range(15):
        keys.press("Tab")
        if page.evaluate("document.activeElement.id") == "filter-kind":
            break
    assert focus_ring(page) == "filter-kind solid 3px"
    keys.type("hypothesis.*")
    keys.press("Tab")
    assert focus_ring(page) == "filter-subject solid 3px"
    with page.expect_navigation():
        keys.press("Enter")
    assert set(page.locator("table.log tbody td:nth-child(3)").all_inner_texts()) == {
        "hypothesis.created",
        "hypothesis.updated",
    }
    # On to the first entry listed, and open it.
    for _ in range(30):
        keys.press("Tab")
        if re.fullmatch(r"/log/\d+", page.evaluate("document.activeElement.getAttribute('href')") or ""):
            break
    with page.expect_navigation():
        keys.press("Enter")
    assert page.locator("h1").inner_text().startswith("Entry ")


def test_axe_finds_no_violation_on_the_auditor_s_pages_wide_or_on_a_phone(
    auditor,
    live_server,  # noqa: F811
    csp_errors,
    tmp_path: Path,
) -> None:
    page = auditor
    checked: dict[str, list[str]] = {}
    pages = {
        "log": "/log",
        "filtered": "/log?kind=label.*",
        "bad filter": "/log?kind=labl.added&since=2026-13-01",
        "entry": "/log/3",
        "verify": "/log/verify",
        "no such entry": "/log/99999",
    }
    for width, height in ((1280, 900), (320, 640)):  # WCAG 1.4.10: no sideways scrolling of the page at 320 px
        page.set_viewport_size({"width": width, "height": height})
        for name, path in pages.items():
            page.goto(live_server + path)
            checked[f"{name} at {width}px"] = accessibility_violations(page) + small_targets(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
        screenshot(page, tmp_path, f"log-entry-{width}px")
    assert checked == {name: [] for name in checked}
    assert csp_errors == []


def _shape(url: str) -> str:
    """/log/12 and /log/13 have one shape, /log?kind=x and /log?kind=y too: the crawl opens a few of each."""
    parts = urlsplit(url)
    keys = ",".join(sorted(name for name, _ in parse_qsl(parts.query)))
    return re.sub(r"\d+", "N", parts.path) + "?" + keys


def test_an_auditor_reaches_no_write_action_anywhere(
    app,
    auditor,
    live_server,  # noqa: F811
    csp_errors,
) -> None:
    """Every page reachable from the nav, link by link: each opens (no 403 behind a link), has no form that posts
    but sign-out, and offers no link to a page that writes. Then every POST route answers 403 to this session."""
    page = auditor
    nav = page.locator("header nav a").evaluate_all("links => links.map(a => a.href)")
    assert f"{live_server}/log" in nav
    queue, seen, shapes = deque(nav), set(nav), dict[str, int]()
    visited = []
    while queue:
        url = queue.popleft()
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{url} answers {response and response.status}"
        visited.append(url)
        posting = page.locator("form").evaluate_all(
            "forms => forms.filter(f => f.method === 'post').map(f => new URL(f.action).pathname)"
        )
        assert posting == ["/signout"], f"{url} has forms posting to {posting}"
        links = page.locator("a[href]").evaluate_all(
            "links => links.map(a => [a.href, a.textContent.trim(), a.hasAttribute('download')])"
        )
        for href, label, download in links:
            where = urlsplit(href)
            assert not WRITE_ADDRESS.search(where.path), f"{url} links to {href} ({label!r})"
            assert not WRITE_WORDS.search(label), f"{url} offers {label!r} ({href})"
            if where.netloc != urlsplit(live_server).netloc or download or href in seen:
                continue
            target = href.split("#", 1)[0]
            shape = _shape(target)
            if target in seen or shapes.get(shape, 0) >= PAGES_OF_A_KIND:
                continue
            seen.add(target)
            shapes[shape] = shapes.get(shape, 0) + 1
            queue.append(target)
    paths = {urlsplit(url).path for url in visited}
    assert {"/epics", f"/epics/{EPIC}", "/stakeholders", "/log", "/log/verify", "/log/1"} <= paths, paths
    assert any(re.fullmatch(r"/stakeholders/\d+", path) for path in paths)

    # The buttons are gone; the routes behind them refuse the session too, with a valid CSRF token.
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in post_routes(app):
        answer = page.request.post(live_server + path, form={"csrf_token": csrf or ""}, max_redirects=0)
        assert answer.status == 403, f"POST {path} answers {answer.status}"
        assert "your role (auditor) may not do this" in answer.text()
    assert csp_errors == []
