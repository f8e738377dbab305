"""Browser tests: a real Chromium through Playwright against the app served on a free local port.

They skip, saying why, when Chromium (`chromium` on PATH, or the binary named by PVM_CHROMIUM) or Playwright is
missing, unless PVM_REQUIRE_BROWSER=1 (then they fail). Use with `from tests.browser import browser_page,
live_server` in a test module.
"""

from __future__ import annotations

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
