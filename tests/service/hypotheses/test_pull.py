"""Pulled readings: a measure's source_url, checked when saved, read once a day into its readings; failures logged
with the hypothesis and the reason, retried the next day, never stopping the others."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
from sqlalchemy import select

from service.clock import build_scheduler, daily_readings
from service.domain.taxonomy import load
from service.hypotheses.pull import pull_readings
from service.hypotheses.schema import HypothesisInvalid, validate
from service.pinned_http import PinnedHttp
from service.runtime import Runtime, runtime
from service.storage.models import ClockRun, Epic, Hypothesis, Reading, ValueLogEntry
from tests.conftest import auth, build_app, make_settings, token_for
from tests.epics import add_epic
from tests.local_http import Endpoint, serving

EPIC = "github:city-council/permits#12"
DAY = date(2026, 12, 1)
LOCAL = PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=5)
TAXONOMY = load()


def hypothesis(rt: Runtime, **measure: object) -> int:
    """A hypothesis whose measure reads a source (written directly: the save-time check is tested on its own)."""
    with rt.transaction() as session:
        if session.get(Epic, EPIC) is None:
            add_epic(session, EPIC)
        row = Hypothesis(
            epic_key=EPIC,
            statement="We believe publishing the refusal rules will result in fewer appeals",
            dimensions=["transparency"],
            measure={"name": "refusals appealed", **measure},
        )
        session.add(row)
        session.flush()
        return row.id


def readings(rt: Runtime, hypothesis_id: int) -> list[tuple[float, date, str | None, str]]:
    with rt.transaction() as session:
        found = session.scalars(select(Reading).where(Reading.hypothesis_id == hypothesis_id).order_by(Reading.id))
        return [(r.value, r.date, r.source, r.actor) for r in found]


JSON_ANSWER = json.dumps({"data": {"rate": 0.16, "items": [{"value": 3}, {"value": "4.5"}]}}).encode()
CSV_ANSWER = b"month,appeals,refusals\r\n2026-10,0.18,120\r\n2026-11,0.15,131\r\n\r\n"


def test_json_and_csv_sources_are_read_into_readings_with_the_url_as_source(rt) -> None:
    with (
        serving(Endpoint(default=(200, {"Content-Type": "application/json"}, JSON_ANSWER))) as figures,
        serving(Endpoint(default=(200, {"Content-Type": "text/csv"}, CSV_ANSWER))) as table,
    ):
        rate = hypothesis(rt, source_url=figures.url("/appeals.json"), path="data.rate")
        last_item = hypothesis(rt, source_url=figures.url("/appeals.json?all=1"), path="data.items.-1.value")
        first_item = hypothesis(rt, source_url=figures.url("/appeals.json"), path="data.items.0.value")
        column = hypothesis(rt, source_url=table.url("/appeals.csv"), column="appeals")
        pulled = pull_readings(rt, DAY, LOCAL)
    assert (pulled.read, pulled.failed) == (4, 0)
    assert readings(rt, rate) == [(0.16, DAY, figures.url("/appeals.json"), "clock")]
    assert readings(rt, last_item)[0][0] == 4.5 and readings(rt, first_item)[0][0] == 3.0
    assert readings(rt, column) == [(0.15, DAY, table.url("/appeals.csv"), "clock")]  # the last data row
    assert figures.requests[0].headers["accept"].startswith("application/json")
    assert table.requests[0].headers["accept"].startswith("text/csv")
    with rt.transaction() as session:
        logged = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "reading.recorded")).all()
    assert {entry.subject for entry in logged} == {f"hypothesis:{i}" for i in (rate, last_item, first_item, column)}
    assert {entry.actor for entry in logged} == {"clock"}


def test_a_spreadsheet_csv_with_semicolons_and_decimal_commas_is_read(rt) -> None:
    answer = "Monat;Widersprüche\n2026-10;0,18\n2026-11;0,14\n".encode()
    with serving(Endpoint(default=(200, {}, answer))) as table:
        hypothesis_id = hypothesis(rt, source_url=table.url("/w.csv"), column="widersprüche")
        pull_readings(rt, DAY, LOCAL)
    assert readings(rt, hypothesis_id)[0][0] == 0.14


def test_run_twice_a_day_one_reading_and_the_next_day_another(rt) -> None:
    with serving(Endpoint(default=(200, {}, JSON_ANSWER))) as figures:
        hypothesis_id = hypothesis(rt, source_url=figures.url("/a.json"), path="data.rate")
        first, again = pull_readings(rt, DAY, LOCAL), pull_readings(rt, DAY, LOCAL)
        tomorrow = pull_readings(rt, date(2026, 12, 2), LOCAL)
    assert (first.read, again.read, again.already, tomorrow.read) == (1, 0, 1, 1)
    assert [r[1] for r in readings(rt, hypothesis_id)] == [DAY, date(2026, 12, 2)]
    assert len(figures.requests) == 2


@pytest.mark.parametrize(
    ("answer", "measure", "says"),
    [
        (JSON_ANSWER, {"path": "data.ratio"}, "data has no key 'ratio' (its keys: items, rate)"),
        (JSON_ANSWER, {"path": "data.items.7.value"}, "data.items has 2 item(s); there is no item 7"),
        (JSON_ANSWER, {"path": "data.rate.value"}, "data.rate is a number, so it has no 'value'"),
        (JSON_ANSWER, {"path": "data"}, "data is an object, not a number"),
        (b"<html>moved</html>", {"path": "data.rate"}, "the answer is not JSON"),
        (CSV_ANSWER, {"column": "appeal"}, "no column 'appeal'; the columns are month, appeals, refusals"),
        (b"month,appeals\n2026-10,n/a\n", {"column": "appeals"}, "the column 'appeals' of the last row is 'n/a'"),
    ],
)
def test_a_bad_path_or_column_is_logged_with_the_hypothesis_and_retried(rt, caplog, answer, measure, says) -> None:
    caplog.set_level(logging.WARNING, logger="service.hypotheses.pull")
    with serving(Endpoint(default=(200, {}, answer))) as source:
        hypothesis_id = hypothesis(rt, source_url=source.url("/x"), **measure)
        result = pull_readings(rt, DAY, LOCAL)
    assert result.failed == 1 and readings(rt, hypothesis_id) == []
    assert f"hypothesis {hypothesis_id} was not read: {says}" in caplog.text and "trying again tomorrow" in caplog.text
    with rt.transaction() as session:  # the day's key is released, so a later run tries again
        assert session.get(ClockRun, f"reading:{hypothesis_id}:{DAY.isoformat()}") is None


def test_refused_addresses_redirects_and_errors_do_not_stop_the_others(rt, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="service.hypotheses.pull")
    with (
        serving(Endpoint(default=(200, {}, JSON_ANSWER))) as good,
        serving(Endpoint(default=(302, {"Location": "http://127.0.0.1:9/"}, b""))) as moved,
        serving(Endpoint(default=(503, {}, b""))) as down,
    ):
        refused = hypothesis(rt, source_url=good.url("/a.json"), path="data.rate")  # loopback, not allowed below
        private = hypothesis(rt, source_url="http://10.1.2.3/figures.json", path="data.rate")
        metadata = hypothesis(rt, source_url="http://169.254.169.254/latest/meta-data/", path="data.rate")
        redirect = hypothesis(rt, source_url=moved.url("/old.json"), path="data.rate")
        failing = hypothesis(rt, source_url=down.url("/a.json"), path="data.rate")
        guarded = PinnedHttp(allowed_private_hosts=(), timeout=5)
        assert pull_readings(rt, DAY, guarded).failed == 5
        assert good.requests == []  # refused before connecting
        ok = hypothesis(rt, source_url=good.url("/a.json"), path="data.rate")
        allowed = PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=5)
        result = pull_readings(rt, DAY, allowed)
    assert (result.read, result.failed) == (2, 4)  # the refused one is allowed now, and the new one
    assert readings(rt, ok)[0][0] == 0.16 and readings(rt, refused)[0][0] == 0.16
    for hypothesis_id, says in (
        (private, "private address"),
        (metadata, "metadata address"),
        (redirect, "302, a redirect, which is not followed"),
        (failing, "the source answered 503"),
    ):
        assert f"hypothesis {hypothesis_id} was not read: " in caplog.text and says in caplog.text
        assert readings(rt, hypothesis_id) == []
    assert [seen.path for seen in moved.requests] == ["/old.json"]  # asked once, the Location never followed


def test_retired_hypotheses_and_measures_without_a_source_are_not_read(rt) -> None:
    with serving(Endpoint(default=(200, {}, JSON_ANSWER))) as figures:
        retired = hypothesis(rt, source_url=figures.url("/a.json"), path="data.rate")
        with rt.transaction() as session:
            session.get(Hypothesis, retired).status = "retired"
        hypothesis(rt)  # a measure read by hand
        assert pull_readings(rt, DAY, LOCAL).read == 0
    assert figures.requests == []


def test_the_clock_pulls_daily_and_a_failure_never_reaches_it(rt, monkeypatch) -> None:
    assert "daily_readings" in {job.id for job in build_scheduler(rt).get_jobs()}

    def broken(runtime: Runtime) -> None:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("service.clock.pull_readings", broken)
    daily_readings(rt)  # logged, not raised: the scheduler and the other jobs go on


# --- the measure's source, checked when it is saved --------------------------------------------------------------


def problems(measure: dict) -> dict[str, str]:
    try:
        validate({"statement": "We believe x", "dimensions": ["transparency"], "measure": measure}, TAXONOMY)
    except HypothesisInvalid as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


@pytest.mark.parametrize(
    ("measure", "path", "says"),
    [
        ({"source_url": "https://93.184.216.34/a.json"}, "measure.source_url", "say where the number is: path"),
        ({"source_url": "https://93.184.216.34/a", "path": "a", "column": "b"}, "measure.column", "not both"),
        ({"path": "data.rate"}, "measure.path", "source_url, which is missing"),
        ({"column": "appeals"}, "measure.column", "source_url, which is missing"),
        ({"source_url": "ftp://93.184.216.34/a", "path": "a"}, "measure.source_url", "an http(s) address"),
        ({"source_url": "https://93.184.216.34/a", "path": "data..rate"}, "measure.path", "a dotted path"),
        ({"source_url": "https://93.184.216.34/a", "path": "data rate"}, "measure.path", "a dotted path"),
    ],
)
def test_a_source_needs_exactly_one_place_to_read(measure, path, says) -> None:
    found = problems({"name": "appeals", **measure})
    assert path in found and says in found[path]


def test_a_public_source_is_accepted_and_kept_with_the_measure() -> None:
    measure = {"name": "appeals", "source_url": "https://93.184.216.34/figures.csv", "column": "appeals"}
    assert problems(measure) == {}


def test_a_refused_address_is_a_field_error_naming_the_rule_and_the_allowance_is_the_apps(tmp_path) -> None:
    app = build_app(make_settings(tmp_path, allowed_private_hosts=("127.0.0.1",)))
    with runtime(app).transaction() as session:
        add_epic(session, EPIC)
    client, team = app.test_client(), auth(token_for(app, "team"))
    url = "/api/v1/epics/github:city-council/permits%2312/hypotheses"
    body = {"statement": "We believe x", "dimensions": ["transparency"]}
    for source, says in (
        ("http://10.0.0.8/figures.json", "10.0.0.8, a private address"),
        ("http://169.254.169.254/latest/", "a cloud metadata address"),
        ("http://[::1]/figures.json", "a loopback address"),
    ):
        measure = {"name": "appeals", "source_url": source, "path": "data.rate"}
        refused = client.post(url, json={**body, "measure": measure}, headers=team)
        assert refused.status_code == 422
        (detail,) = refused.json["details"]
        assert detail["path"] == "measure.source_url" and says in detail["message"]
        assert "PVM_ALLOWED_PRIVATE_HOSTS" in detail["message"]
    allowed = {"name": "appeals", "source_url": "http://127.0.0.1:8080/figures.json", "path": "data.rate"}
    created = client.post(url, json={**body, "measure": allowed}, headers=team)
    assert created.status_code == 201 and created.json["measure"] == allowed
