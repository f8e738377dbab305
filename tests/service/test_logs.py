"""Every log line the service writes is one line: values from outside cannot start a line of their own."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.jira.webhook import signature as jira_signature
from service import logs
from tests import deliveries
from tests.conftest import JIRA_SECRET

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.-]+: ")
FORGED = "2026-01-01 00:00:00,000 INFO service.webhooks.views: webhook jira delivery d-9 stored as inbox row 9"
# Everything Python's str.splitlines (and so most log readers) takes for the end of a line, and terminal escapes.
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the service's own logging setup (`logs.configure`) would write, captured."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logs.formatter())
    root = logging.getLogger()
    factory, level = logging.getLogRecordFactory(), root.level
    logging.setLogRecordFactory(logs.OneLineRecord)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(factory)


def lines_of(output: io.StringIO) -> list[str]:
    text = output.getvalue()
    assert text, "nothing was logged"
    return text.splitlines()  # splits on every break of BREAKS, as a reader would


def assert_one_line_records(lines: list[str]) -> None:
    assert not any(line.startswith(FORGED[:23]) for line in lines), "the forged record starts a line"
    for line in lines:
        assert RECORD_START.match(line) or line.startswith(" | "), f"a line that is not a record of ours: {line!r}"


# HTTP itself cannot carry CR or LF in a header value (clients and servers refuse it); every other break it can.
HEADER_BREAKS = [brk for brk in BREAKS if "\n" not in brk and "\r" not in brk]


@pytest.mark.parametrize("brk", HEADER_BREAKS, ids=[repr(b) for b in HEADER_BREAKS])
def test_a_delivery_id_cannot_forge_a_log_line(app, log_output, brk: str) -> None:
    """The tracker's delivery id is written into the lines about the delivery before anything is trusted."""
    delivery = f"d-1{brk}{FORGED}"
    response = app.test_client().post(
        "/webhooks/github",
        data=b"{}",
        headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": "sha256=00"},
    )
    assert response.status_code == 401
    lines = lines_of(log_output)
    assert_one_line_records(lines)
    [refused] = [line for line in lines if "signature missing or wrong" in line]
    assert refused.split(": ", 1)[1].startswith("webhook github delivery d-1\\")  # the delivery id is kept, escaped


@pytest.mark.parametrize("brk", BREAKS, ids=[repr(b) for b in BREAKS])
def test_a_jira_event_name_cannot_forge_a_log_line(app, log_output, brk: str) -> None:
    payload = deliveries.fixture("jira", "issue_created__story")
    payload["webhookEvent"] = f"jira:issue_created{brk}{FORGED}"
    body = json.dumps(payload).encode()
    headers = {"X-Atlassian-Webhook-Identifier": "jira-evil-1", "X-Hub-Signature": jira_signature(body, JIRA_SECRET)}
    response = app.test_client().post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 400
    lines = lines_of(log_output)
    assert_one_line_records(lines)
    assert any("jira-evil-1" in line and "refused" in line for line in lines)  # which delivery it was


def test_a_traceback_keeps_its_lines_marked_as_one_record(log_output) -> None:
    try:
        raise ValueError(f"tracker said: no{chr(10)}{FORGED}")
    except ValueError:
        logging.getLogger("service.outbox.dispatch").exception("sending %s failed", "comment\x1b[2J")
    lines = lines_of(log_output)
    assert_one_line_records(lines)
    assert lines[0].endswith("sending comment\\x1b[2J failed")
    assert lines[-1] == f" | {FORGED}"  # part of the traceback, not a record


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain words, ümlauts and €", "plain words, ümlauts and €"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("nul\x00", "nul\\x00"),
        ("ansi\x1b[31m", "ansi\\x1b[31m"),
        ("nel\x85", "nel\\x85"),
        ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
        ("already \\n escaped", "already \\\\n escaped"),  # a backslash cannot pass for one of ours
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert logs.escape(raw) == escaped


@given(st.text())
def test_any_text_escapes_to_one_printable_line(text: str) -> None:
    escaped = logs.escape(text)
    assert escaped.isprintable() and len(escaped.splitlines()) <= 1
    if text.isprintable() and "\\" not in text:
        assert escaped == text


@given(st.text(max_size=20), st.text(max_size=20))
def test_different_texts_stay_different(first: str, second: str) -> None:
    if first != second:
        assert logs.escape(first) != logs.escape(second)
