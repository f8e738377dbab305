"""The auditor's view through Flask's test client: the log with its filters and pages, an entry, the verify, the
downloads, what bad input gets (a 4xx page naming it, never a 500), and the sign-in cookie."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text as sql

from service.cli import cli as cli_group
from service.runtime import runtime
from service.valuelog.export import FIELD_ORDER
from service.valuelog.query import head
from service.valuelog.verify import file_records, verify_records
from service.web import auditing
from tests.conftest import auth, build_app, make_settings, token_for
from tests.hostile import ANY_CHARACTER, TRICKY_TEXT
from tests.service.web.valuelog import EPIC, csrf, fill_log, post_routes, rewrite_as_attacker, signed_in


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """What a reader sees: the text without tags, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def seqs(page: str) -> list[int]:
    """The seqs listed in the log page's table, in order."""
    return [int(seq) for seq in re.findall(r'<a href="/log/(\d+)"><span class="visually-hidden">entry', page)]


def encoded(value: str) -> str:
    """Percent-encoded as a careless client would send it, lone surrogates included (as their UTF-8-like bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def filled(app):
    fill_log(app, EPIC)
    return app


@pytest.fixture
def auditor(filled):
    return signed_in(filled, "auditor", name="audit-office")


@pytest.fixture
def api(filled, auditor):
    """Reads the API as a second auditor; made after the signed-in one, so the log no longer grows in a test."""
    headers = auth(token_for(filled, "auditor"))

    def seqs_of(query: str = "") -> list[int]:
        found = filled.test_client().get(f"/api/v1/log?limit=500&{query}", headers=headers)
        return [e["seq"] for e in found.json["items"]]

    return seqs_of


@pytest.mark.parametrize("role", ["auditor", "team", "product-owner", "admin"])
def test_every_reading_role_finds_the_value_log_in_the_nav(filled, role: str) -> None:
    client = signed_in(filled, role)
    assert '<a href="/log">Value log</a>' in client.get("/epics").get_data(as_text=True)
    assert client.get("/log").status_code == 200


def test_signed_out_the_log_asks_for_sign_in_and_comes_back(filled) -> None:
    response = filled.test_client().get("/log?kind=label.added")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/log?kind%3Dlabel.added"


def test_the_log_lists_entries_with_count_and_head(filled, auditor) -> None:
    page = text(auditor.get("/log"))
    with runtime(filled).transaction() as session:
        top = head(session)
    assert top is not None
    assert f"The log holds {top[0]} entries; its head hash is" in page and top[1] in page
    assert seqs(page) == list(range(1, top[0] + 1))
    assert "hypothesis.created" in page and "jira:PERM-12" in page and "github:ana-dev" in page


@pytest.mark.parametrize(
    "query",
    [
        "kind=label.added",
        "kind=label.*",
        "subject=jira:PERM-14",
        "actor=github:ana-dev",
        "kind=rule.fired&subject=jira:PERM-14",
        "subject=hypothesis:1&actor=jira:maria",
        "since=2000-01-01&until=2999-12-31",
        "until=2000-01-01",
    ],
)
def test_filters_select_what_the_api_selects(filled, auditor, api, query: str) -> None:
    page = text(auditor.get(f"/log?{query}"))
    assert seqs(page) == api(query)
    if seqs(page):
        assert "Only the entries these filters select" in page
    else:
        assert "No entry matches these filters." in page


def test_pages_carry_the_filters_and_go_both_ways(filled, auditor, api, monkeypatch) -> None:
    monkeypatch.setattr(auditing, "PAGE_SIZE", 4)
    labels = api("kind=label.*")
    assert len(labels) > 8
    first = auditor.get("/log?kind=label.*").get_data(as_text=True)
    assert seqs(first) == labels[:4]
    later = re.search(r'href="([^"]+)" rel="next"', first)
    assert later and "Earlier entries" not in first
    second = auditor.get(html.unescape(later.group(1))).get_data(as_text=True)
    assert seqs(second) == labels[4:8]
    earlier = re.search(r'href="([^"]+)" rel="prev"', second)
    assert earlier and "kind=label.*" in html.unescape(earlier.group(1))
    assert seqs(auditor.get(html.unescape(earlier.group(1))).get_data(as_text=True)) == labels[:4]
    latest = re.search(r'href="([^"]+)">Latest entries', second)
    assert latest and seqs(auditor.get(html.unescape(latest.group(1))).get_data(as_text=True)) == labels[-4:]


def test_an_entry_shows_its_bytes_hash_and_link_to_the_one_before(filled, auditor) -> None:
    exported = [json.loads(line) for line in auditor.get("/log/export.jsonl").get_data(as_text=True).splitlines()]
    third, second = exported[2], exported[1]
    page = text(auditor.get("/log/3"))
    assert f"Entry 3: {third['kind']}" in words(auditor.get("/log/3"))
    assert f'<code class="hash" id="entry-hash">{third["hash"]}</code>' in page
    assert f'<code class="hash" id="entry-prev-hash">{second["hash"]}</code>' in page
    assert "The SHA-256 of the canonical bytes below is this hash." in page
    assert "The hash of entry 2 ." in words(auditor.get("/log/3"))
    with runtime(filled).engine.connect() as conn:
        stored = bytes(conn.execute(sql("SELECT canonical FROM value_log WHERE seq = 3")).scalar())
    shown = re.search(r'id="canonical-bytes"[^>]*>(.*?)</pre>', auditor.get("/log/3").get_data(as_text=True), re.S)
    assert shown and html.unescape(shown.group(1)).encode() == stored
    assert f"The {len(stored)} bytes that were hashed" in page
    download = auditor.get("/log/3/canonical.json")
    assert download.data == stored
    assert download.headers["Content-Disposition"] == 'attachment; filename="value-log-3.canonical.json"'
    first = text(auditor.get("/log/1"))
    assert "64 zeros: the first entry links to nothing." in first


def test_a_tampered_entry_is_shown_as_such_and_the_verify_names_it(filled, auditor, api) -> None:
    ok = text(auditor.get("/log/verify"))
    assert "The chain verifies" in ok
    count = int(re.search(r'id="verify-count">(\d+)<', ok).group(1))
    assert count == len(api())
    engine = runtime(filled).engine
    with engine.connect() as conn:
        canonical = bytes(conn.execute(sql("SELECT canonical FROM value_log WHERE seq = 5")).scalar())
    rewrite_as_attacker(
        filled, "UPDATE value_log SET canonical = :c WHERE seq = 5", c=canonical.replace(b"jira", b"JIRA", 1)
    )
    entry = text(auditor.get("/log/5"))
    assert "not this hash: the entry was changed after it was written" in entry
    broken = text(auditor.get("/log/verify"))
    assert "The chain is broken at seq 5" in words(auditor.get("/log/verify"))
    assert "hash mismatch: the entry's bytes were changed after it was written" in broken
    assert re.search(r'id="verify-count">4<', broken)
    assert 'href="/log/5">entry 5</a>' in broken


def test_a_removed_entry_is_a_gap_the_verify_names(filled, auditor) -> None:
    rewrite_as_attacker(filled, "DELETE FROM value_log WHERE seq = 7")
    broken = words(auditor.get("/log/verify"))
    assert "The chain is broken at seq 7" in broken and "gap: expected seq 7, found seq 8" in broken
    assert "7, missing from the log" in broken
    after_gap = words(auditor.get("/log/8"))
    assert "There is no entry 7 to link to: an entry was removed." in after_gap


def test_exports_download_the_whole_log_or_the_selection(filled, auditor, api, tmp_path) -> None:
    whole = auditor.get("/log/export.jsonl")
    assert whole.status_code == 200 and whole.mimetype == "application/jsonl"
    count = len(api())
    assert whole.headers["Content-Disposition"] == f'attachment; filename="value-log-to-seq-{count}.jsonl"'
    assert whole.headers["Cache-Control"] == "no-store"
    lines = whole.get_data(as_text=True).splitlines()
    result = verify_records(file_records(lines))
    assert result.ok and result.entries == count
    # Byte for byte what `pvm log export` writes.
    environment = {"DATABASE_URL": runtime(filled).settings.database_url, "PVM_INSTANCE_DIR": str(tmp_path)}
    cli = CliRunner().invoke(cli_group, ["log", "export", "--format", "jsonl"], env={**environment, "PVM_ENV": "test"})
    assert cli.exit_code == 0, cli.output
    assert whole.get_data(as_text=True) == cli.stdout

    as_csv = auditor.get("/log/export.csv?kind=label.*")
    assert as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Disposition"] == f'attachment; filename="value-log-filtered-to-seq-{count}.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert list(rows[0]) == list(FIELD_ORDER)
    assert [int(r["seq"]) for r in rows] == api("kind=label.*")
    assert {r["kind"] for r in rows} == {"label.added", "label.removed", "label.unknown"}


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/log?kind=labl.added", 400, "no entry has the kind 'labl.added'"),
        ("/log?kind=labl.added", 400, "did you mean 'label.added'?"),
        ("/log?kind=hypotheses.*", 400, "did you mean 'hypothesis.*'?"),
        ("/log?since=2026-13-01", 400, "since must be a day such as 2026-11-28"),
        ("/log?since=yesterday&until=tomorrow", 400, "until must be a day"),
        ("/log?since=2026-11-29&until=2026-11-28", 400, "until (2026-11-28) is before since (2026-11-29)"),
        ("/log?subject=" + "x" * 301, 400, "subject is 301 characters long"),
        ("/log?knd=label.added", 400, "the log has no filter 'knd'; its filters are kind, subject, actor, since"),
        ("/log?kind=label.added&kind=label.removed", 400, "kind is given 2 times; give it once"),
        ("/log?after=abc", 400, "after must be a seq"),
        ("/log?after=-1", 400, "after must be a seq"),
        ("/log?after=3&before=9", 400, "give after or before, not both"),
        ("/log/0", 404, "no entry '0': an entry is named by its seq, a whole number from 1"),
        ("/log/abc", 404, "no entry 'abc'"),
        ("/log/" + "9" * 40, 404, "no entry '999999999999999999999999999999...'"),
        ("/log/9223372036854775808", 404, "a whole number from 1 to 9223372036854775807"),
        ("/log/9223372036854775807", 404, "there is no entry with seq 9223372036854775807: the log holds seq 1 to"),
        ("/log/99999/canonical.json", 404, "there is no entry with seq 99999"),
        ("/log/export.xml", 404, "no export as 'xml': the log is exported as jsonl or csv"),
        ("/log/export.csv?since=soon", 400, "since must be a day"),
        ("/log/export.jsonl?after=3", 400, "an export takes the filters only"),
    ],
)
def test_bad_input_gets_a_page_naming_what_was_wrong(auditor, path: str, status: int, says: str) -> None:
    response = auditor.get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert says in text(response)


def test_a_bad_filter_is_shown_next_to_its_field_and_the_form_keeps_the_values(auditor) -> None:
    page = auditor.get("/log?kind=labl.added&since=2026-13-01&subject=jira:PERM-14").get_data(as_text=True)
    assert 'id="filter-kind" name="kind" value="labl.added"' in page
    assert 'id="filter-subject" name="subject" value="jira:PERM-14"' in page
    assert 'aria-describedby="filter-since-hint filter-since-error" aria-invalid="true"' in page
    assert '<a href="#filter-kind">' in page and '<a href="#filter-since">' in page
    assert "<table" not in page  # nothing is listed under filters that cannot be used


def test_a_cursor_past_the_head_is_an_empty_page(auditor) -> None:
    for query in ("after=99999999999999999999999", "before=1"):
        response = auditor.get(f"/log?{query}")
        assert response.status_code == 200 and "No entries here." in text(response)


@given(name=st.sampled_from(["kind", "subject", "actor", "since", "until", "after", "before"]), value=TRICKY_TEXT)
def test_tricky_values_never_fail_the_page(auditor, name: str, value: str) -> None:
    assert auditor.get(f"/log?{name}={encoded(value)}").status_code < 500


@given(value=st.text(ANY_CHARACTER, max_size=60))
def test_any_text_in_any_filter_is_a_page_or_a_4xx(auditor, value: str) -> None:
    for name in ("kind", "since", "until", "after"):
        assert auditor.get(f"/log?{name}={encoded(value)}").status_code < 500
    assert auditor.get(f"/log/export.csv?until={encoded(value)}").status_code < 500
    assert auditor.get(f"/log/{encoded(value)}").status_code < 500


def test_the_pages_are_never_cached_and_run_no_script(auditor) -> None:
    for path in ("/log", "/log/1", "/log/verify", "/log?kind=nope"):
        response = auditor.get(path)
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "<script" not in response.get_data(as_text=True) and " style=" not in response.get_data(as_text=True)


def _session_cookie(app) -> str:
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/signin", data={"token": secret, "csrf_token": token})
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_sign_in_cookie_is_http_only_same_site_and_secure_behind_tls(app, tmp_path) -> None:
    plain = _session_cookie(app)
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    behind_tls = build_app(make_settings(tmp_path / "tls", base_url="https://pvm.example"))
    try:
        cookie = _session_cookie(behind_tls)
    finally:
        runtime(behind_tls).engine.dispose()
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_an_auditor_session_may_post_nowhere(filled, auditor) -> None:
    """Every route that takes a POST with a signed-in session answers 403 to an auditor, with a valid CSRF token:
    only sign-in and sign-out are open to everyone, and a stakeholder's answer link is authorised by the link."""
    token = csrf(auditor.get("/log").get_data(as_text=True))
    routes = post_routes(filled)
    assert routes, "the app has no POST routes for signed-in people"
    for path in routes:
        response = auditor.post(path, data={"csrf_token": token})
        assert response.status_code == 403, path
        assert "your role (auditor) may not do this" in text(response)
