"""Browser tests: a real Chromium through Playwright against the app served on a free local port.

They skip, saying why, when Chromium (`chromium` on PATH, or the binary named by PVM_CHROMIUM) or Playwright is
missing, unless PVM_REQUIRE_BROWSER=1 (then they fail). Use with `from tests.browser import browser_page,
live_server` in a test module.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> Path | None:
    named = os.environ.get("PVM_CHROMIUM")
    if named:
        return Path(named) if Path(named).is_file() else None
    found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    return Path(found) if found else None


def browser_missing() -> str | None:
    if chromium() is None:
        wanted = os.environ.get("PVM_CHROMIUM") or " or ".join(CHROMIUM_NAMES) + " on PATH"
        return f"Chromium is not installed ({wanted} not found)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def browser_page() -> Iterator[Any]:
    reason = browser_missing()
    if reason:
        if os.environ.get("PVM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and PVM_REQUIRE_BROWSER=1 says browser tests must run")
        pytest.skip(f"{reason}; install it to run browser tests (PVM_REQUIRE_BROWSER=1 makes this a failure)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served by werkzeug in a thread, on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# WCAG 2.2 rules that the bundled axe-core (4.4) predates are checked by `small_targets` below.
_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  const where = v => v.nodes.map(n => n.target.join(" ")).join(", ");
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help}; at ${where(v)}`);
}"""


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's violations of every rule it runs by default, one line each (rule, impact, help, where).

    axe comes from the local copy in the `axe-core-python` package, never from the network. It is evaluated in the
    page rather than added as a <script> tag: the pages refuse inline script by their Content-Security-Policy, and
    that policy stays in force while they are checked."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate((importlib.resources.files("axe_core_python") / "axe.min.js").read_text(encoding="utf-8"))
    return list(page.evaluate(_AXE_RUN))


_SMALL_TARGETS = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.width > 0 && (box.width < 24 || box.height < 24))
  .map(([el, box]) => `${el.id || el.name || el.tagName} is ${Math.round(box.width)}x${Math.round(box.height)}`)"""


def small_targets(page: Any) -> list[str]:
    """Form controls smaller than 24x24 CSS pixels (WCAG 2.2 SC 2.5.8, AA). Links are left out: the criterion
    exempts a link inside a sentence, and every link on these pages is one."""
    return list(page.evaluate(_SMALL_TARGETS))


def focus_ring(page: Any) -> str:
    """The focused element's id and its outline, e.g. `score-0 solid 3px`: a test asserts the ring is there."""
    return str(
        page.evaluate(
            "() => { const el = document.activeElement, s = getComputedStyle(el);"
            " return `${el.id || el.tagName} ${s.outlineStyle} ${s.outlineWidth}`; }"
        )
    )
