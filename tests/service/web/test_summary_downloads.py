"""A signed-in person downloads a summary or a value case from the page itself (the API's formats need a token)."""

from __future__ import annotations

from flask import Flask

from service.domain.taxonomy import load_for
from service.runtime import runtime
from tests.service.summaries import sprint
from tests.service.web.test_hypothesis_pages import sign_in


def test_summary_and_case_downloads_for_a_session(app: Flask) -> None:
    rt = runtime(app)
    with rt.transaction() as session:
        sprint.build(session, rt.settings, load_for(None))
    client = app.test_client()
    sign_in(client, app, "auditor")
    page = client.get(f"/iterations/{sprint.SPRINT_37}").get_data(as_text=True)
    assert f"/iterations/{sprint.SPRINT_37}?download=md" in page and 'href="/api/v1' not in page

    md = client.get(f"/iterations/{sprint.SPRINT_37}?download=md")
    assert md.status_code == 200 and md.headers["Content-Disposition"].endswith('.md"')
    assert md.get_data(as_text=True).startswith("## Sprint value summary: Sprint 37")
    table = client.get(f"/iterations/{sprint.SPRINT_37}?download=csv")
    assert table.get_data(as_text=True).startswith("iteration,section,hypothesis,name,figure,value")
    assert client.get(f"/iterations/{sprint.SPRINT_37}?download=json").get_json()["work"]["tickets"] == 5
    assert client.get(f"/iterations/{sprint.SPRINT_37}?download=pdf").status_code == 404

    case = client.get("/epics/jira:PRM-1/case?download=md")
    assert case.status_code == 200 and "Publish refusal rules" in case.get_data(as_text=True)
    assert client.get("/epics/jira:PRM-1/case?download=csv").status_code == 404
