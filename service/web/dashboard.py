"""The product owner's dashboard: iterations with their sprint value summaries, the "must do" list, and the value
case of an epic. Every reading role may see them."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from service.access import Permission
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db
from service.scopes import Scope
from service.storage.models import Epic, Hypothesis, Iteration
from service.summaries.case import UnknownEpic, value_case
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.web import charts, mustdo
from service.web.pages import shows_error_pages
from service.web.people import current_person, needs, shown, where

bp = shows_error_pages(Blueprint("dashboard", __name__))
PAGE_SIZE = 20


@bp.get("/dashboard")
@needs(Permission.READ)
def dashboard() -> str:
    number = request.args.get("page", "1")
    page = int(number) if number.isdigit() and int(number) > 0 else 1
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


@bp.get("/iterations/<path:key>")
@needs(Permission.READ)
def iteration(key: str) -> str:
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
    return render_template(
        "iteration.html",
        s=summary,
        frameworks=sorted(taxonomy.frameworks),
        **_charts([h.id for h in summary.hypotheses]),
    )


@bp.get("/epics/<path:key>/case")
@needs(Permission.READ)
def case(key: str) -> str:
    shown(db().get(Epic, key), f"epic {key!r} is not known yet. Pick an epic from the list of epics.")
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
