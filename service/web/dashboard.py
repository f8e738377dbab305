"""The product owner's dashboard: iterations with their sprint value summaries, the "must do" list, and the value
case of an epic. Every reading role may see them."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from service.access import Permission
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db
from service.storage.models import Hypothesis, Iteration
from service.summaries.case import UnknownEpic, value_case
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.web import charts, mustdo
from service.web.pages import shows_error_pages
from service.web.people import needs

bp = shows_error_pages(Blueprint("dashboard", __name__))
PAGE_SIZE = 20


@bp.get("/dashboard")
@needs(Permission.READ)
def dashboard() -> str:
    number = request.args.get("page", "1")
    page = int(number) if number.isdigit() and int(number) > 0 else 1
    total = db().scalar(select(func.count()).select_from(Iteration).where(Iteration.state != "deleted")) or 0
    ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
    iterations = list(
        db().scalars(
            select(Iteration)
            .where(Iteration.state != "deleted")
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
        sections=mustdo.must_do(db()),
    )


@bp.get("/iterations/<path:key>")
@needs(Permission.READ)
def iteration(key: str) -> str:
    taxonomy = current_taxonomy()
    framework = request.args.get("framework") or None
    try:
        summary = summarise(db(), taxonomy, key, framework)
    except UnknownIteration as exc:
        abort(404, f"{exc}. Pick an iteration on the dashboard.")
    except UnknownFramework as exc:
        abort(422, f"{exc}. Choose one of them, or none, in the form on the summary page.")
    return render_template(
        "iteration.html",
        s=summary,
        frameworks=sorted(taxonomy.frameworks),
        **_charts([h.id for h in summary.hypotheses]),
    )


@bp.get("/epics/<path:key>/case")
@needs(Permission.READ)
def case(key: str) -> str:
    try:
        found = value_case(db(), key)
    except UnknownEpic as exc:
        abort(404, f"{exc}. Pick an epic from the list of epics.")
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
