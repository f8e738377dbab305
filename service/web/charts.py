"""Charts of a hypothesis, drawn by pygal on the server and served as `image/svg+xml` for an <img>.

Served as images, not inline: pygal's SVG carries its own <style> and <script>, which a page's Content-Security-
Policy without inline script or style would refuse. With `js=[]` the SVG references no external script either.
Each chart's data comes from a bounded query, and the page shows the same data as a table beside the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygal
from flask import Blueprint, Response, abort
from pygal.style import Style
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.access import Permission
from service.runtime import db
from service.storage.models import CheckinAnswer, CheckinRound, Hypothesis, Iteration, Reading
from service.web.pages import shows_error_pages
from service.web.people import needs

bp = shows_error_pages(Blueprint("charts", __name__))
ITERATIONS = 10  # the trend shows a hypothesis's latest iterations with answers
READINGS = 60
_STYLE = Style(background="white", plot_background="white", font_family="sans-serif")


@dataclass(frozen=True)
class AnswerTrend:
    iterations: list[str]  # oldest first
    groups: dict[str, list[float | None]]  # group -> mean per iteration (None: no answer that time)


@dataclass(frozen=True)
class MeasureSeries:
    name: str
    baseline: float | None
    target: float | None
    readings: list[tuple[str, float]]  # (date, value), oldest first


def answer_trend(session: Session, hypothesis_id: int) -> AnswerTrend:
    """Mean score per group in each of the hypothesis's latest ITERATIONS iterations with answers."""
    started = func.min(CheckinRound.opened_at)
    latest = list(
        session.execute(
            select(CheckinRound.iteration_key, func.coalesce(func.max(Iteration.name), CheckinRound.iteration_key))
            .join(CheckinAnswer, CheckinAnswer.round_id == CheckinRound.id)
            .outerjoin(Iteration, Iteration.key == CheckinRound.iteration_key)
            .where(CheckinRound.hypothesis_id == hypothesis_id, CheckinRound.iteration_key.is_not(None))
            .group_by(CheckinRound.iteration_key)
            .order_by(started.desc())
            .limit(ITERATIONS)
        )
    )
    latest.reverse()
    keys = [str(key) for key, _ in latest]
    means: dict[tuple[str, str], float] = {}
    if keys:
        for key, group, mean in session.execute(
            select(CheckinRound.iteration_key, CheckinAnswer.group, func.avg(CheckinAnswer.score))
            .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
            .where(
                CheckinRound.hypothesis_id == hypothesis_id,
                CheckinRound.iteration_key.in_(keys),
                CheckinAnswer.current.is_(True),
            )
            .group_by(CheckinRound.iteration_key, CheckinAnswer.group)
        ):
            means[(str(key), group)] = float(mean)  # PostgreSQL's avg is a Decimal
    groups = sorted({group for _, group in means})
    return AnswerTrend(
        iterations=[str(name or key) for key, name in latest],
        groups={g: [means.get((key, g)) for key in keys] for g in groups},
    )


def measure_series(session: Session, hypothesis: Hypothesis) -> MeasureSeries:
    measure = hypothesis.measure or {}
    rows = list(
        session.scalars(
            select(Reading)
            .where(Reading.hypothesis_id == hypothesis.id)
            .order_by(Reading.date.desc(), Reading.id.desc())
            .limit(READINGS)
        )
    )
    rows.reverse()

    def value(block: object) -> float | None:
        found = block.get("value") if isinstance(block, dict) else None
        return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None

    return MeasureSeries(
        name=str(measure.get("name") or "the measure"),
        baseline=value(measure.get("baseline")),
        target=value(measure.get("target")),
        readings=[(r.date.isoformat(), r.value) for r in rows],
    )


def trend_alt(trend: AnswerTrend) -> str:
    if not trend.iterations:
        return "No answers yet."
    latest = ", ".join(f"{group} {values[-1]:+.2f}" for group, values in trend.groups.items() if values[-1] is not None)
    return (
        f"Mean answer per group over {len(trend.iterations)} iteration(s), "
        f"{trend.iterations[0]} to {trend.iterations[-1]}; latest: {latest or 'no answers'}."
    )


def measure_alt(series: MeasureSeries) -> str:
    if not series.readings:
        return f"No reading of {series.name} yet."
    first, last = series.readings[0], series.readings[-1]
    return (
        f"{len(series.readings)} reading(s) of {series.name} from {first[1]:g} on {first[0]}"
        f" to {last[1]:g} on {last[0]}; baseline {_shown(series.baseline)}, target {_shown(series.target)}."
    )


def _shown(value: float | None) -> str:
    return "not set" if value is None else f"{value:g}"


def _svg(chart: pygal.Graph) -> Response:
    return Response(chart.render(), content_type="image/svg+xml; charset=utf-8")


def _chart(kind: type[pygal.Graph], title: str) -> pygal.Graph:
    return kind(
        title=title,
        style=_STYLE,
        js=[],  # no external script: the image works offline and under any policy
        disable_xml_declaration=False,  # served as a standalone image, which may carry its declaration
        width=640,
        height=320,
        x_label_rotation=20,
        show_minor_x_labels=True,
        print_values=False,
        no_data_text="No answers yet",
    )


def _hypothesis(hypothesis_id: int) -> Hypothesis:
    found = db().get(Hypothesis, hypothesis_id)
    if found is None:
        abort(404, f"no hypothesis {hypothesis_id}: open the charts from an epic's or an iteration's page")
    return found


@bp.get("/charts/hypotheses/<id:hypothesis_id>/answers.svg")
@needs(Permission.READ)
def answers_chart(hypothesis_id: int) -> Response:
    _hypothesis(hypothesis_id)
    trend = answer_trend(db(), hypothesis_id)
    chart = _chart(pygal.Line, f"Hypothesis {hypothesis_id}: mean answer per group")
    chart.range = (-2, 2)
    chart.x_labels = trend.iterations
    for group, values in trend.groups.items():
        chart.add(group, values)
    return _svg(chart)


@bp.get("/charts/hypotheses/<id:hypothesis_id>/measure.svg")
@needs(Permission.READ)
def measure_chart(hypothesis_id: int) -> Response:
    series = measure_series(db(), _hypothesis(hypothesis_id))
    chart = _chart(pygal.Line, f"Hypothesis {hypothesis_id}: {series.name}")
    chart.no_data_text = "No reading yet"
    chart.x_labels = [day for day, _ in series.readings]
    if series.readings:
        chart.add("reading", [value for _, value in series.readings])
        for name, level in (("baseline", series.baseline), ("target", series.target)):
            if level is not None:
                chart.add(name, [level] * len(series.readings), show_dots=False, stroke_style={"dasharray": "6,4"})
    return _svg(chart)
