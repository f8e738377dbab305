"""The product owner's dashboard: iterations with their sprint value summaries, the "must do" list, and the value
case of an epic. Every reading role may see them."""

from __future__ import annotations

import json

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from service.access import Permission
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db
from service.scopes import Scope
from service.storage.models import Epic, Hypothesis, Iteration
from service.summaries.case import UnknownEpic, value_case
from service.summaries.case import to_markdown as case_markdown
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.summaries.formats import MEDIA_TYPES, to_csv, to_json, to_markdown
from service.web import charts, display, mustdo
from service.web.pages import shows_error_pages
from service.web.people import current_person, needs, shown, where

bp = shows_error_pages(Blueprint("dashboard", __name__))
PAGE_SIZE = 20


@bp.get("/dashboard")
@needs(Permission.READ)
def dashboard() -> str:
    number = request.args.get("page", "1")
    if not (number.isascii() and number.isdigit() and len(number) <= 6 and int(number) > 0):
        abort(400, f"page {number[:20]!r} is not a page number: use 1 for the newest iterations, 2 for older ones")
    page = int(number)
    counted = where(select(func.count()).select_from(Iteration).where(Iteration.state != "deleted"), Scope.iterations)
    total = db().scalar(counted) or 0
    ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
    iterations = list(
        db().scalars(
            where(select(Iteration).where(Iteration.state != "deleted"), Scope.iterations)
            .order_by(ordering.desc(), Iteration.key)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return render_template(
        "dashboard.html",
        iterations=iterations,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        # The must-do list's sections each query every project; a scoped token is not shown them (None).
        sections=mustdo.must_do(db()) if _unscoped() else None,
    )


def _unscoped() -> bool:
    person = current_person()
    return person is None or person.scope.everything


DOWNLOADS = ("md", "csv", "json")


def _download(body: str, fmt: str, name: str) -> Response:
    """A summary or case as a file, for a signed-in person (the API's formats need a bearer token)."""
    response = Response(body, content_type=MEDIA_TYPES[fmt])
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}.{fmt}"'
    return display.private(response)


@bp.get("/iterations/<path:key>")
@needs(Permission.READ)
def iteration(key: str) -> str | Response:
    taxonomy = current_taxonomy()
    framework = request.args.get("framework") or None
    if not _unscoped():  # the unknown-iteration message lists every iteration
        shown(db().get(Iteration, key), f"no iteration {key!r}. Pick an iteration on the dashboard.")
    try:
        summary = summarise(db(), taxonomy, key, framework)
    except UnknownIteration as exc:
        abort(404, f"{exc}. Pick an iteration on the dashboard.")
    except UnknownFramework as exc:
        abort(422, f"{exc}. Choose one of them, or none, in the form on the summary page.")
    wanted = request.args.get("download")
    if wanted is not None:
        if wanted not in DOWNLOADS:
            abort(404, f"no download as {wanted[:20]!r}: the summary comes as {', '.join(DOWNLOADS)}")
        body = {"md": to_markdown, "csv": to_csv}.get(wanted, lambda s: json.dumps(to_json(s), indent=2))(summary)
        return _download(body, wanted, f"summary-{key}")
    return render_template(
        "iteration.html",
        s=summary,
        frameworks=sorted(taxonomy.frameworks),
        **_charts([h.id for h in summary.hypotheses]),
    )


@bp.get("/epics/<path:key>/case")
@needs(Permission.READ)
def case(key: str) -> str | Response:
    shown(db().get(Epic, key), f"epic {key!r} is not known yet. Pick an epic from the list of epics.")
    try:
        found = value_case(db(), key)
    except UnknownEpic as exc:
        abort(404, f"{exc}. Pick an epic from the list of epics.")
    wanted = request.args.get("download")
    if wanted is not None:
        if wanted != "md":
            abort(404, f"no download as {wanted[:20]!r}: the value case comes as md")
        return _download(case_markdown(found), "md", f"value-case-{key}")
    return render_template("case.html", c=found, **_charts([h.id for h in found.hypotheses]))


def _charts(ids: list[int]) -> dict[str, object]:
    """The data behind each hypothesis's two charts, for their tables and text alternatives."""
    measures = {}
    for hypothesis_id in ids:
        row = db().get(Hypothesis, hypothesis_id)
        if row is not None:
            measures[hypothesis_id] = charts.measure_series(db(), row)
    return {
        "trends": {hypothesis_id: charts.answer_trend(db(), hypothesis_id) for hypothesis_id in ids},
        "measures": measures,
        "trend_alt": charts.trend_alt,
        "measure_alt": charts.measure_alt,
    }
