"""Every format of the summary from the same data: the API's JSON, Markdown, CSV and HTML, and `pvm summary`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain.taxonomy import load_for
from service.runtime import runtime
from service.summaries.compute import summarise
from service.summaries.formats import markdown_text, to_csv, to_markdown
from tests.conftest import auth, token_for
from tests.helpers import run_cli
from tests.service.summaries import sprint

URL = f"/api/v1/iterations/{quote(sprint.SPRINT_37, safe='')}/summary"


@pytest.fixture
def built(app: Flask) -> sprint.Sprint:
    rt = runtime(app)
    with rt.transaction() as session:
        return sprint.build(session, rt.settings, load_for(None))


@pytest.fixture
def reader(app: Flask) -> dict[str, str]:
    return auth(token_for(app, "auditor"))


def test_json_is_the_computed_summary(app: Flask, client: FlaskClient, built: sprint.Sprint, reader: dict) -> None:
    answer = client.get(URL, headers=reader)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["iteration"]["key"] == sprint.SPRINT_37
    assert body["work"]["untagged_share"] == 0.4 and body["response"]["asked"] == 6
    assert {g["group"]: g["answers"] for g in body["groups"]} == {"citizen": 3, "civil-servant": 1, "it-developer": 1}
    # An unencoded key reaches the same summary.
    assert (
        client.get(f"/api/v1/iterations/{sprint.SPRINT_37}/summary", headers=reader).get_json()["work"] == body["work"]
    )


def test_markdown_csv_and_html_carry_the_same_figures(client: FlaskClient, built: sprint.Sprint, reader: dict) -> None:
    md = client.get(URL + "?format=md", headers=reader)
    assert md.content_type.startswith("text/markdown")
    text = md.get_data(as_text=True)
    assert "## Sprint value summary: Sprint 37" in text
    assert "5 ticket(s), 3 done, 18 story point(s) (15 done). Untagged: 2 (40%)." in text
    assert "| citizen | 3 | 3 | +0.33 | +1.70 | 0 |" in text
    assert "Applicants without a bank ID cannot appeal online" in text
    assert "_text erased at the person's request_" in text
    assert "Response rate: 83% (5 of 6 asked). Divergence between groups: +3.00 points." in text

    table = client.get(URL + "?format=csv", headers=reader)
    assert table.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True))))
    figures = {(r["section"], r["name"], r["figure"]): r["value"] for r in rows if not r["hypothesis"]}
    assert figures[("work", "", "untagged_share")] == "0.4"
    assert figures[("dimension", "transparency", "points")] == "8.0"
    assert figures[("group", "civil-servant", "mean")] == "-2.0"
    assert figures[("response", "", "asked")] == "6"

    page = client.get(URL + "?format=html", headers=reader)
    assert page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "<caption>Answers per group" in html and "Applicants without a bank ID cannot appeal online" in html
    assert '<th scope="row">citizen</th><td>3</td><td>3</td><td>+0.33</td>' in html


def test_bad_choices_are_named(client: FlaskClient, built: sprint.Sprint, reader: dict) -> None:
    unknown = client.get("/api/v1/iterations/jira%3Asprint%2F99/summary", headers=reader)
    assert unknown.status_code == 404
    assert "jira:sprint/37" in unknown.get_json()["error"] and "jira:sprint/36" in unknown.get_json()["error"]
    framework = client.get(URL + "?framework=balanced-scorecard", headers=reader)
    assert framework.status_code == 422 and "the taxonomy knows" in framework.get_json()["error"]
    fmt = client.get(URL + "?format=pdf", headers=reader)
    assert fmt.status_code == 422 and "json, md, csv, html" in fmt.get_json()["error"]
    assert client.get(URL).status_code == 401


def test_markdown_cannot_mention_people_or_break_the_table() -> None:
    assert markdown_text("@city-council/all | *now*\nnext") == "@\u200bcity-council/all \\| \\*now\\* next"


def test_cli_prints_each_format(app: Flask, built: sprint.Sprint, tmp_path: Path) -> None:
    settings = runtime(app).settings
    with runtime(app).transaction() as session:
        expected = summarise(session, load_for(None), sprint.SPRINT_37)
    as_json = run_cli(["summary", sprint.SPRINT_37, "--format", "json"], settings.database_url, settings.instance_dir)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["work"] == expected.model_dump(mode="json")["work"]
    alias = run_cli(["summary", sprint.SPRINT_37, "--json"], settings.database_url, settings.instance_dir)
    assert alias.exit_code == 0 and json.loads(alias.stdout)["work"] == json.loads(as_json.stdout)["work"]
    as_md = run_cli(["summary", sprint.SPRINT_37], settings.database_url, settings.instance_dir)
    assert as_md.stdout.split("\n")[0] == to_markdown(expected).split("\n")[0]
    as_csv = run_cli(["summary", sprint.SPRINT_37, "--format", "csv"], settings.database_url, settings.instance_dir)
    assert as_csv.stdout.splitlines()[:5] == to_csv(expected).splitlines()[:5]
    missing = run_cli(["summary", "jira:sprint/99"], settings.database_url, settings.instance_dir)
    assert missing.exit_code != 0 and "jira:sprint/37" in missing.output
