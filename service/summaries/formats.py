"""The summary in JSON, Markdown (tracker comments) and CSV (spreadsheets), all from the one `Summary`.

HTML is rendered by the web app's templates (`service/web/templates/_summary.html`) from the same object.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from service.summaries.model import Summary

NONE = "n/a"  # shown where a figure cannot be computed (no answers, no estimate)
FORMATS = ("json", "md", "csv", "html")
MEDIA_TYPES = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

# Markdown that would change the comment's shape or reach people: table pipes, emphasis, links, HTML, and mentions
# (an `@team` in someone's answer must not notify a GitHub team).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def markdown_text(value: Any) -> str:
    text = " ".join(str(value if value is not None else "").split())  # one line: table cells and list items
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("@", "@\u200b")


def number(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value:.0%}"


def score(value: float | None) -> str:
    return NONE if value is None else f"{value:+.2f}"


def day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


@cache
def markdown_templates() -> Environment:
    """The Markdown templates (summary, value case), with the filters that escape and format their values."""
    env = Environment(
        loader=PackageLoader("service.summaries", "templates"),
        autoescape=False,  # Markdown, escaped by the `md` filter instead
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=markdown_text, num=number, pct=percent, score=score, day=day)
    return env


def to_json(summary: Summary) -> dict[str, Any]:
    return summary.model_dump(mode="json")


def to_markdown(summary: Summary) -> str:
    text = markdown_templates().get_template("summary.md").render(s=summary)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_csv(summary: Summary) -> str:
    """One row per figure: section, hypothesis (empty for the iteration), group or dimension, figure, value.

    A long table, so a spreadsheet can pivot it any way and every figure has the same columns.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["iteration", "section", "hypothesis", "name", "figure", "value"])
    key = summary.iteration.key

    def row(section: str, hypothesis: int | None, name: str, figure: str, value: Any) -> None:
        writer.writerow([key, section, "" if hypothesis is None else hypothesis, name, figure, _cell(value)])

    work = summary.work
    for figure in ("tickets", "done", "points", "done_points", "tagged", "untagged", "untagged_share"):
        row("work", None, "", figure, getattr(work, figure))
    for dimension in work.by_dimension:
        for figure in ("tickets", "done", "points", "done_points"):
            row("dimension", None, dimension.dimension, figure, getattr(dimension, figure))
    for category, count in (work.by_category or {}).items():
        row(f"framework:{summary.framework}", None, category, "tickets", count)
    for risk in work.risks:
        row("risk", None, risk.ticket, risk.label, risk.title)
    group_figures = ("asked", "answered", "answers", "late", "mean", "spread", "lowest", "highest")
    for group in summary.groups:
        for figure in group_figures:
            row("group", None, group.group, figure, getattr(group, figure))
    row("response", None, "", "asked", summary.response.asked)
    row("response", None, "", "answered", summary.response.answered)
    row("response", None, "", "rate", summary.response.rate)
    row("divergence", None, "", "points", summary.divergence)
    for name in summary.not_asked:
        row("not_asked", None, name, "group", name)
    for name in summary.not_answering:
        row("not_answering", None, name, "group", name)
    for signal in summary.signals:
        row("signal", signal.hypothesis, signal.group, "mean", signal.mean)
    for worse in summary.worse_off:
        row("worse_off", worse.hypothesis, worse.group, "late" if worse.late else "text", worse.text)
    for hypothesis in summary.hypotheses:
        for figure in ("status", "phase", "confidence", "response_rate", "divergence"):
            row("hypothesis", hypothesis.id, hypothesis.epic, figure, getattr(hypothesis, figure))
        if hypothesis.measure is not None:
            latest = hypothesis.measure.latest
            row("measure", hypothesis.id, hypothesis.measure.name or "", "baseline", hypothesis.measure.baseline)
            row("measure", hypothesis.id, hypothesis.measure.name or "", "target", hypothesis.measure.target)
            row("measure", hypothesis.id, hypothesis.measure.name or "", "latest", latest.value if latest else None)
            row("measure", hypothesis.id, hypothesis.measure.name or "", "movement", hypothesis.measure.movement)
        for answered in hypothesis.groups:
            for figure in group_figures:
                row("hypothesis_group", hypothesis.id, answered.group, figure, getattr(answered, figure))
    for point in summary.trend:
        row("trend", None, point.key, "tickets", point.tickets)
        row("trend", None, point.key, "untagged_share", point.untagged_share)
        row("trend", None, point.key, "answers", point.answers)
        row("trend", None, point.key, "response_rate", point.response_rate)
        for name, mean in sorted(point.group_means.items()):
            row("trend", None, point.key, f"mean:{name}", mean)
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
