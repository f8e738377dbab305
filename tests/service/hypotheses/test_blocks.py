"""Blocks in real-looking GitHub and Jira descriptions become hypotheses; edits, removals and mistakes are logged."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from service.domain.taxonomy import load
from service.hypotheses.blocks import find_blocks, sync_from_description
from service.hypotheses.commands import EpicUnknown, add_reading, retire, set_lifecycle
from service.runtime import runtime
from service.storage.models import Hypothesis, ValueLogEntry
from tests.conftest import build_app, make_settings
from tests.epics import add_epic

GITHUB_EPIC = "github:acme/benefits-portal#34"
JIRA_EPIC = "jira:BEN-12"
TAXONOMY = load()

GITHUB_BODY = (
    "## Why\r\n"
    "\r\n"
    "Applicants \u2013 Bürgerinnen und Bürger \u2013 don't know why they were refused; 18 % appeal 📉.\r\n"
    "\r\n"
    "## Value hypothesis\r\n"
    "\r\n"
    "```value-hypothesis\r\n"
    "statement: We believe publishing the refusal rules for applicants will result in fewer appeals\r\n"
    "dimensions: [transparency, trust-legitimacy]\r\n"
    "stakeholders: [citizen, civil-servant]\r\n"
    "indicators: [share of refusals appealed]\r\n"
    "measure: {name: refusals appealed, baseline: {value: 0.18, date: 2026-09-01, source: case system},\r\n"
    "          target: {value: 0.10, date: 2027-03-31}}\r\n"
    "owner: service-owner\r\n"
    "risks: [{dimension: privacy-security, description: more data shown, watch: complaints about exposure}]\r\n"
    "trade-offs: [efficiency]\r\n"
    "```\r\n"
    "\r\n"
    "### Sub-issues\r\n"
    "- [ ] #35 Publish rules page\r\n"
    "- [ ] #36 Link rules from refusal letter\r\n"
)

JIRA_BODY = """h2. Ziel
Antragsteller*innen sollen verstehen, *warum* ein Antrag abgelehnt wurde.

{code:value-hypothesis}
statement: Wir glauben, dass veröffentlichte Ablehnungsregeln für Antragstellende zu weniger Widersprüchen führen
dimensions: [transparency]
stakeholders: [citizen]
owner: Fachbereich Leistungen
confidence: at risk
{code}

* Folgeaufgabe: BEN-13
* Rückfragen an [~j.müller]
"""


def _sync(session, key, description, actor="github:octocat", source="github"):
    return sync_from_description(
        session, epic_key=key, description=description, actor=actor, source=source, taxonomy=TAXONOMY
    )


def _log(session, kind=None):
    query = select(ValueLogEntry).order_by(ValueLogEntry.seq)
    if kind:
        query = query.where(ValueLogEntry.kind == kind)
    return list(session.scalars(query))


def _hypotheses(session, key):
    return list(session.scalars(select(Hypothesis).where(Hypothesis.epic_key == key).order_by(Hypothesis.id)))


def test_github_markdown_with_crlf_and_unicode_creates_the_hypothesis(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC, description=GITHUB_BODY)
        events = _sync(session, GITHUB_EPIC, GITHUB_BODY)
    assert [e.kind for e in events] == ["hypothesis.created"]
    with rt.transaction() as session:
        [h] = _hypotheses(session, GITHUB_EPIC)
        assert (h.origin, h.block_ref, h.phase, h.status) == ("block", "pos:1", "ex-ante", "proposed")
        assert h.statement.startswith("We believe publishing the refusal rules")
        assert h.dimensions == ["transparency", "trust-legitimacy"]
        assert h.stakeholders == ["citizen", "civil-servant"]
        assert h.measure == {
            "name": "refusals appealed",
            "baseline": {"value": 0.18, "date": "2026-09-01", "source": "case system"},
            "target": {"value": 0.10, "date": "2027-03-31"},
        }
        assert h.risks == [
            {"dimension": "privacy-security", "description": "more data shown", "watch": "complaints about exposure"}
        ]
        assert h.trade_offs == ["efficiency"]
        [entry] = _log(session, "hypothesis.created")
        assert entry.subject == f"hypothesis:{h.id}" and entry.actor == "github:octocat" and entry.source == "github"
        assert entry.data["old"] is None and entry.data["new"]["owner"] == "service-owner"
        assert entry.data["epic"] == GITHUB_EPIC


def test_jira_wiki_markup_block_with_umlauts(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, JIRA_EPIC, description=JIRA_BODY)
        events = _sync(session, JIRA_EPIC, JIRA_BODY, actor="jira:5b10ac8d82e05b22cc7d4ef5", source="jira")
    assert [e.kind for e in events] == ["hypothesis.created"]
    with rt.transaction() as session:
        [h] = _hypotheses(session, JIRA_EPIC)
        assert h.statement == (
            "Wir glauben, dass veröffentlichte Ablehnungsregeln für Antragstellende zu weniger Widersprüchen führen"
        )
        assert (h.owner, h.confidence, h.dimensions) == ("Fachbereich Leistungen", "at risk", ["transparency"])


def test_jira_inline_tags_and_markdown_fence_in_jira() -> None:
    inline = "Intro\n{code:value-hypothesis|borderStyle=solid}statement: inline start\ndimensions: [outcomes]{code}\n"
    [block] = find_blocks(inline)
    assert block.text == "statement: inline start\ndimensions: [outcomes]"
    assert block.first_line == 2
    fenced = "h2. Wert\n~~~~value-hypothesis\nstatement: s\ndimensions: [efficiency]\n~~~~\n"
    [block] = find_blocks(fenced)
    assert block.text == "statement: s\ndimensions: [efficiency]" and block.first_line == 3
    # A fence in another language, or a plain code block, is not a hypothesis.
    assert find_blocks("```yaml\nstatement: x\n```\n{code:java}\nint x;\n{code}\n") == []


def test_unchanged_description_writes_nothing(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, GITHUB_BODY)
    with rt.transaction() as session:
        before = len(_log(session))
        # The same block with different text around it (and LF instead of CRLF) is still unchanged.
        edited = GITHUB_BODY.replace("\r\n", "\n") + "\n- [ ] #37 New sub-issue\n"
        assert _sync(session, GITHUB_EPIC, edited) == []
        assert len(_log(session)) == before


def test_editing_the_block_updates_with_old_and_new_values(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, GITHUB_BODY)
    edited = GITHUB_BODY.replace("[transparency, trust-legitimacy]", "[transparency, openness, participation]")
    with rt.transaction() as session:
        events = _sync(session, GITHUB_EPIC, edited, actor="github:maria")
    assert [e.kind for e in events] == ["hypothesis.updated"]
    assert events[0].data.plain()["changes"] == {
        "dimensions": {
            "old": ["transparency", "trust-legitimacy"],
            "new": ["transparency", "participation"],  # the alias openness is transparency, listed once
        }
    }
    with rt.transaction() as session:
        [h] = _hypotheses(session, GITHUB_EPIC)
        assert h.dimensions == ["transparency", "participation"]
        [entry] = _log(session, "hypothesis.updated")
        assert entry.actor == "github:maria" and entry.data["changes"]["dimensions"]["new"] == h.dimensions


def test_removing_the_block_retires_with_reason_and_readding_starts_a_new_one(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, GITHUB_BODY)
    without = GITHUB_BODY.split("## Value hypothesis")[0]
    with rt.transaction() as session:
        events = _sync(session, GITHUB_EPIC, without)
        assert [e.kind for e in events] == ["hypothesis.retired"]
        assert events[0].data.plain()["reason"] == "its value-hypothesis block was removed from the epic description"
        assert events[0].data.plain()["changes"]["status"] == {"old": "proposed", "new": "retired"}
    with rt.transaction() as session:
        assert _sync(session, GITHUB_EPIC, None) == []  # already retired: nothing more to do
        assert [e.kind for e in _sync(session, GITHUB_EPIC, GITHUB_BODY)] == ["hypothesis.created"]
        assert [h.status for h in _hypotheses(session, GITHUB_EPIC)] == ["retired", "proposed"]


def test_a_hypothesis_retired_while_its_block_stays_is_not_stated_again(rt) -> None:
    """Every label change re-sends the description: a block still there must not make a new hypothesis each time."""
    base = "```value-hypothesis\nstatement: We believe fewer appeals\ndimensions: [transparency]\n{extra}```\n"
    retired_in_block = base.format(extra="status: retired\nreason: superseded by the new letters project\n")
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, base.format(extra=""))
        assert [e.kind for e in _sync(session, GITHUB_EPIC, retired_in_block)] == ["hypothesis.retired"]
        assert _sync(session, GITHUB_EPIC, retired_in_block) == []
        # An edit of the block still changes that same (retired) hypothesis.
        edited = retired_in_block.replace("fewer appeals", "fewer formal appeals")
        assert [e.kind for e in _sync(session, GITHUB_EPIC, edited)] == ["hypothesis.updated"]
        [hypothesis] = _hypotheses(session, GITHUB_EPIC)
        assert (hypothesis.status, hypothesis.statement) == ("retired", "We believe fewer formal appeals")

    # Retired some other way (API, form) while the block stays: the next event does not state it again either.
    with rt.transaction() as session:
        add_epic(session, JIRA_EPIC)
        _sync(session, JIRA_EPIC, JIRA_BODY)
        [hypothesis] = _hypotheses(session, JIRA_EPIC)
        retire(session, hypothesis, reason="replaced by BEN-20", actor="token:po", source="api")
        assert _sync(session, JIRA_EPIC, JIRA_BODY) == []
        assert [h.status for h in _hypotheses(session, JIRA_EPIC)] == ["retired"]
        # Removing the block lets go of it; writing it again states a new hypothesis.
        assert _sync(session, JIRA_EPIC, "no block any more") == []
        assert [e.kind for e in _sync(session, JIRA_EPIC, JIRA_BODY)] == ["hypothesis.created"]
        assert [h.status for h in _hypotheses(session, JIRA_EPIC)] == ["retired", "proposed"]


def _two_blocks(first_id: str, second_id: str, second_dims: str = "[efficiency]") -> str:
    return (
        f"```value-hypothesis\nid: {first_id}\nstatement: We believe fewer appeals\ndimensions: [transparency]\n```\n"
        f"text between\n"
        f"```value-hypothesis\nid: {second_id}\nstatement: We believe less staff time\ndimensions: {second_dims}\n```\n"
    )


def test_blocks_with_ids_keep_their_hypothesis_when_reordered(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        assert len(_sync(session, GITHUB_EPIC, _two_blocks("appeals", "staff-time"))) == 2
    swapped = _two_blocks("staff-time", "appeals").replace("fewer appeals", "X").replace("less staff time", "Y")
    swapped = swapped.replace("X", "less staff time").replace("Y", "fewer appeals")
    swapped = (
        swapped.replace("[transparency]", "[T]")
        .replace("[efficiency]", "[transparency]")
        .replace("[T]", "[efficiency]")
    )
    with rt.transaction() as session:
        assert _sync(session, GITHUB_EPIC, swapped) == []
        refs = {h.block_ref: h.statement for h in _hypotheses(session, GITHUB_EPIC)}
        assert refs == {"id:appeals": "We believe fewer appeals", "id:staff-time": "We believe less staff time"}


def test_blocks_without_ids_match_by_position(rt) -> None:
    first = "```value-hypothesis\nstatement: A\ndimensions: [outcomes]\n```\n"
    second = "```value-hypothesis\nstatement: B\ndimensions: [capability]\n```\n"
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, first + second)
    with rt.transaction() as session:
        events = _sync(session, GITHUB_EPIC, first)  # the second block was deleted
        assert [e.kind for e in events] == ["hypothesis.retired"]
        assert [(h.block_ref, h.statement, h.status) for h in _hypotheses(session, GITHUB_EPIC)] == [
            ("pos:1", "A", "proposed"),
            ("pos:2", "B", "retired"),
        ]


def test_duplicate_ids_are_invalid(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        events = _sync(session, GITHUB_EPIC, _two_blocks("same", "same"))
    assert [e.kind for e in events] == ["hypothesis.created", "hypothesis.invalid"]
    assert "already the id of the block on line 1" in events[1].data.plain()["messages"][0]
    assert events[1].data.plain()["errors"][0]["line"] == 8  # the second block's `id:` line


INVALID_CASES = [
    pytest.param(
        "statement: We believe\ndimensions: [transparency\nowner: me\n",
        2,
        "$",
        "not valid YAML",
        id="invalid-yaml",
    ),
    pytest.param(
        "statement: We believe\ndimensions:\n  - transparency\n  - trust-legitimcy\n",
        4,
        "dimensions.1",
        "unknown dimension 'trust-legitimcy'; did you mean 'trust-legitimacy'?",
        id="unknown-dimension",
    ),
    pytest.param(
        "statement: We believe\ndimensions: [efficiency]\nstakeholders: [citizen, civil-servent]\n",
        3,
        "stakeholders.1",
        "unknown stakeholder group 'civil-servent'; did you mean 'civil-servant'?",
        id="unknown-group",
    ),
    pytest.param(
        "statement: We believe\ndimensions: [efficiency]\nmeasure:\n  name: hours per case\n"
        "  target: {value: 2, date: 2027-01-31}\n",
        3,
        "measure.baseline",
        "a target needs a baseline",
        id="target-without-baseline",
    ),
    pytest.param(
        "statement: We believe\ndimensions: [efficiency]\nmeasure:\n  name: hours per case\n"
        "  baseline: {value: 3, date: 2026-02-30, source: timesheets}\n",
        5,
        "measure.baseline.date",
        "'2026-02-30' is not a date; write it as YYYY-MM-DD",
        id="date-not-a-date",
    ),
    pytest.param(
        "statement: We believe\ndimensions: [efficiency]\nmeasure:\n  name: hours per case\n"
        "  baseline: {value: 3, date: next spring}\n",
        5,
        "measure.baseline.date",
        "'next spring' is not a date",
        id="date-words",
    ),
    pytest.param("dimensions: [efficiency]\n", 1, "statement", "Field required", id="statement-missing"),
    pytest.param(
        "statement: x\ndimensions: [efficiency]\nstakholders: [citizen]\n", 3, "stakholders", "unknown field", id="typo"
    ),
]


@pytest.mark.parametrize(("block", "line_in_block", "path", "message"), INVALID_CASES)
def test_invalid_block_is_logged_with_line_and_previous_version_stays(rt, block, line_in_block, path, message) -> None:
    intro = "Intro line\r\n\r\n"  # the block text starts on description line 4
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, intro + "```value-hypothesis\nstatement: Valid\ndimensions: [outcomes]\n```\n")
    description = intro + "```value-hypothesis\r\n" + block.replace("\n", "\r\n") + "```\r\n"
    with rt.transaction() as session:
        events = _sync(session, GITHUB_EPIC, description, actor="github:maria")
    assert [e.kind for e in events] == ["hypothesis.invalid"]
    errors = events[0].data.plain()["errors"]
    wanted = [e for e in errors if e["path"] == path]
    assert wanted, errors
    assert message in wanted[0]["message"]
    assert wanted[0]["line"] == 3 + line_in_block
    assert any(m.startswith(f"line {3 + line_in_block}: ") for m in events[0].data.plain()["messages"])
    with rt.transaction() as session:
        [h] = _hypotheses(session, GITHUB_EPIC)
        assert (h.statement, h.dimensions, h.status) == ("Valid", ["outcomes"], "proposed")
        [entry] = _log(session, "hypothesis.invalid")
        assert entry.subject == GITHUB_EPIC and entry.data["hypothesis"] == h.id and entry.actor == "github:maria"
        # The same broken text again (e.g. a label change re-sends the description) is reported once only.
        assert _sync(session, GITHUB_EPIC, description) == []


def test_new_invalid_block_is_reported_once_then_created_when_fixed(rt) -> None:
    broken = "```value-hypothesis\nstatement: S\ndimensions: [transparancy]\n```\n"
    with rt.transaction() as session:
        add_epic(session, JIRA_EPIC)
        [event] = _sync(session, JIRA_EPIC, broken, source="jira")
        assert (
            event.data.plain()["hypothesis"] is None
            and "did you mean 'transparency'" in event.data.plain()["messages"][0]
        )
        assert _sync(session, JIRA_EPIC, broken + "\nmore text", source="jira") == []
        fixed = broken.replace("transparancy", "transparency")
        assert [e.kind for e in _sync(session, JIRA_EPIC, fixed, source="jira")] == ["hypothesis.created"]


def test_unclosed_block_is_invalid(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, JIRA_EPIC)
        [event] = _sync(session, JIRA_EPIC, "h2. Wert\n{code:value-hypothesis}\nstatement: s\ndimensions: [outcomes]\n")
    assert event.data.plain()["errors"] == [
        {
            "line": 2,
            "path": "$",
            "message": "the value-hypothesis block opened here is never closed; end it with {code}",
        }
    ]


def test_status_change_in_a_block_needs_a_reason(rt) -> None:
    base = "```value-hypothesis\nstatement: S\ndimensions: [outcomes]\n{extra}```\n"
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, base.format(extra=""))
    with rt.transaction() as session:
        [event] = _sync(session, GITHUB_EPIC, base.format(extra="status: active\n"))
        assert event.kind == "hypothesis.invalid"
        assert event.data.plain()["errors"][0]["path"] == "reason" and event.data.plain()["errors"][0]["line"] == 4
        [event] = _sync(session, GITHUB_EPIC, base.format(extra="status: active\nreason: pilot started in Kassel\n"))
        assert event.kind == "hypothesis.updated"
        assert event.data.plain()["changes"] == {"status": {"old": "proposed", "new": "active"}}
        assert event.data.plain()["reason"] == "pilot started in Kassel"
        # Leaving `status` out of the block later keeps the status: lifecycle fields move only when written.
        assert _sync(session, GITHUB_EPIC, base.format(extra="owner: Kassel team\n"))[0].data.plain()["changes"] == {
            "owner": {"old": None, "new": "Kassel team"}
        }
        assert _hypotheses(session, GITHUB_EPIC)[0].status == "active"


def test_a_new_block_that_starts_past_proposed_needs_a_reason_and_keeps_it(rt) -> None:
    base = "{{code:value-hypothesis}}\nstatement: S\ndimensions: [outcomes]\nstatus: refuted\n{extra}{{code}}\n"
    with rt.transaction() as session:
        add_epic(session, JIRA_EPIC)
        [event] = _sync(session, JIRA_EPIC, base.format(extra=""), source="jira")
        assert event.kind == "hypothesis.invalid" and _hypotheses(session, JIRA_EPIC) == []
        assert [(e["line"], e["path"]) for e in event.data.plain()["errors"]] == [(4, "reason")]
        assert "'refuted' needs a reason" in event.data.plain()["messages"][0]
        [event] = _sync(session, JIRA_EPIC, base.format(extra="reason: the 2025 pilot showed no effect\n"))
        assert event.kind == "hypothesis.created" and event.data.plain()["reason"] == "the 2025 pilot showed no effect"
        assert [h.status for h in _hypotheses(session, JIRA_EPIC)] == ["refuted"]


def test_a_status_changed_elsewhere_is_not_set_back_by_an_edit_of_another_line(rt) -> None:
    base = (
        "```value-hypothesis\nstatement: S\ndimensions: [outcomes]\nstatus: active\nreason: pilot started\n{extra}```\n"
    )
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, base.format(extra=""))
        [hypothesis] = _hypotheses(session, GITHUB_EPIC)
        assert hypothesis.status == "active"
        set_lifecycle(session, hypothesis, status="supported", reason="appeals down 40 %", actor="t", source="api")
        [event] = _sync(session, GITHUB_EPIC, base.format(extra="owner: Kassel team\n"))
        assert event.data.plain()["changes"] == {"owner": {"old": None, "new": "Kassel team"}}
        assert hypothesis.status == "supported"
        # A new status change in the block, with its own reason, still applies.
        moved = base.format(extra="owner: Kassel team\n").replace("status: active", "status: refuted")
        [event] = _sync(session, GITHUB_EPIC, moved.replace("pilot started", "effect gone after a year"))
        assert event.data.plain()["changes"] == {"status": {"old": "supported", "new": "refuted"}}
        assert event.data.plain()["reason"] == "effect gone after a year"


def test_a_status_set_elsewhere_long_after_the_block_said_it_is_still_not_set_back(rt) -> None:
    """However many entries the hypothesis has collected since its block set the status (readings here)."""
    base = (
        "```value-hypothesis\nstatement: S\ndimensions: [outcomes]\nstatus: active\nreason: pilot started\n{extra}```\n"
    )
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        _sync(session, GITHUB_EPIC, base.format(extra=""))
        [hypothesis] = _hypotheses(session, GITHUB_EPIC)
        for day in range(520):
            add_reading(
                session,
                hypothesis,
                value=0.18 - day / 10000,
                on=dt.date(2026, 9, 1) + dt.timedelta(days=day),
                reading_source="case system",
                actor="t",
                source="api",
            )
        set_lifecycle(session, hypothesis, status="supported", reason="appeals down 40 %", actor="t", source="api")
        [event] = _sync(session, GITHUB_EPIC, base.format(extra="owner: Kassel team\n"))
        assert event.data.plain()["changes"] == {"owner": {"old": None, "new": "Kassel team"}}
        assert hypothesis.status == "supported"


def test_invalid_text_reported_long_ago_is_not_reported_again(rt) -> None:
    """However many other blocks of the epic were reported since (more than the 50 reports once looked at)."""
    old = "```value-hypothesis\nstatement: S\ndimensions: [transparancy]\n```\n"
    others = "".join(
        f"```value-hypothesis\nid: other-{n}\nstatement: S\ndimensions: [nonsense-{n}]\n```\n" for n in range(60)
    )
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
        assert [e.kind for e in _sync(session, GITHUB_EPIC, old)] == ["hypothesis.invalid"]
        assert len(_sync(session, GITHUB_EPIC, old + others)) == 60  # only the new blocks are reported
        assert _sync(session, GITHUB_EPIC, old + others + "a label change re-sent the description") == []
        # Text that differs from the last report is reported, and going back to earlier text is news again.
        changed = old.replace("transparancy", "transparence")
        assert [e.data.plain()["block"] for e in _sync(session, GITHUB_EPIC, changed + others)] == ["pos:1"]
        assert [e.data.plain()["block"] for e in _sync(session, GITHUB_EPIC, old + others)] == ["pos:1"]


@pytest.mark.postgres
def test_two_workers_re_sending_one_invalid_block_report_it_once(tmp_path, postgres_url) -> None:
    """The second worker reads before the first commits; the report row, not the read, decides."""
    rt = runtime(build_app(make_settings(tmp_path, postgres_url)))
    broken = "```value-hypothesis\nstatement: S\ndimensions: [transparancy]\n```\n"
    with rt.transaction() as session:
        add_epic(session, GITHUB_EPIC)
    first_reported, reports = threading.Event(), {}

    def worker(name: str, wait_for: threading.Event | None) -> None:
        if wait_for is not None:
            wait_for.wait(10)
        with rt.transaction() as session:
            reports[name] = [e.kind for e in _sync(session, GITHUB_EPIC, broken)]
            if wait_for is None:
                first_reported.set()
                threading.Event().wait(0.5)  # still uncommitted while the second one reads and waits

    threads = [
        threading.Thread(target=worker, args=("first", None)),
        threading.Thread(target=worker, args=("second", first_reported)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert reports == {"first": ["hypothesis.invalid"], "second": []}
    rt.engine.dispose()


def test_unknown_epic_is_refused(rt) -> None:
    with rt.transaction() as session, pytest.raises(EpicUnknown, match="webhook"):
        _sync(session, "github:acme/portal#999", GITHUB_BODY)


def test_dates_come_back_as_iso_text_and_phase_follows_the_epic(rt) -> None:
    with rt.transaction() as session:
        epic = add_epic(session, GITHUB_EPIC)
        epic.phase = "during"
        _sync(session, GITHUB_EPIC, GITHUB_BODY)
        [h] = _hypotheses(session, GITHUB_EPIC)
        assert h.phase == "during"
        assert dt.date.fromisoformat(h.measure["target"]["date"]) == dt.date(2027, 3, 31)
