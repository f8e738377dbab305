"""The auditor's view of the value log: browse and filter it, open an entry with its canonical bytes and hashes,
verify the whole chain, download it. Read-only: every route is a GET and needs only Permission.READ.

The filters, pages, exports and the verify are service/valuelog's, the same code the API and `pvm log` run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint, abort, render_template, request, stream_with_context, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from service.access import Permission
from service.domain.kinds import known_kinds
from service.runtime import db
from service.storage.models import ValueLogEntry
from service.valuelog import GENESIS_HASH, verify_database
from service.valuelog.export import FORMATS, export_lines
from service.valuelog.query import (
    FILTERS,
    MAX_SEQ,
    LogFilter,
    QueryInvalid,
    browse,
    entry,
    families,
    head,
    kind_problem,
)
from service.web import display
from service.web.pages import shows_error_pages
from service.web.people import current_person, needs, shown

bp = shows_error_pages(Blueprint("auditing", __name__))
PAGE_SIZE = 100
CURSORS = ("after", "before")
EXPORT_TYPES = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}


@dataclass(frozen=True)
class Problem:
    """A query-string value that cannot be used: which one (the field's id when it has one) and why."""

    parameter: str
    message: str

    @property
    def target(self) -> str:
        return f"filter-{self.parameter}" if self.parameter in FILTERS else "filters"


def _problems(args: MultiDict[str, str]) -> list[Problem]:
    """Names the page does not take, and values given twice: both are typos worth naming, not silently ignoring."""
    found = []
    for name in args:
        if name not in (*FILTERS, *CURSORS):
            shown = name if len(name) <= 40 else f"{name[:40]}..."
            found.append(Problem("filters", f"the log has no filter {shown!r}; its filters are {', '.join(FILTERS)}"))
        elif len(args.getlist(name)) > 1:
            found.append(Problem(name, f"{name} is given {len(args.getlist(name))} times; give it once"))
    if "after" in args and "before" in args:
        found.append(Problem("before", "give after or before, not both: they are the next and previous page's cursor"))
    return found


def _cursor(name: str, raw: str | None) -> int | None:
    """A page cursor: a seq, 0 or more. Beyond the largest seq it names no page, so it is clamped, not refused."""
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit():
        raise QueryInvalid(
            [(name, f"{name} must be a seq (a whole number, 0 or more) from a page link, got {raw[:40]!r}")]
        )
    return min(int(raw), MAX_SEQ + 1)


def _page(*, status: int = 200, **context: Any) -> Response:
    """A page of the auditor's view: never cached (it is an audit record of the moment) and no script at all."""
    return display.private(Response(render_template(**context), status, mimetype="text/html"))


@bp.get("/log")
@needs(Permission.READ)
def log() -> Response:
    args = request.args
    values = {name: args.get(name, "") for name in FILTERS}
    problems = _problems(args)
    log_filter = LogFilter()
    cursors: dict[str, int | None] = {}
    try:
        log_filter = LogFilter.parse(args)
    except QueryInvalid as exc:
        problems.extend(Problem(name, message) for name, message in exc.problems)
    log_filter = _within_scope(log_filter)
    for cursor in CURSORS:
        try:
            cursors[cursor] = _cursor(cursor, args.get(cursor))
        except QueryInvalid as exc:
            problems.extend(Problem(name, message) for name, message in exc.problems)
    kind = (args.get("kind") or "").strip()
    if kind and not any(p.parameter == "kind" for p in problems):
        problem = kind_problem(db(), kind)
        if problem:
            problems.append(Problem("kind", problem))
    context: dict[str, Any] = {
        "template_name_or_list": "log.html",
        "values": values,
        "problems": problems,
        "errors": {name: "; ".join(p.message for p in problems if p.parameter == name) for name in FILTERS},
        "kinds": [*families(), *known_kinds()],
        "top": head(db()),
        "filter": log_filter,
    }
    if problems:
        return _page(status=400, page=None, **context)
    found = browse(db(), log_filter, after=cursors.get("after"), before=cursors.get("before"), limit=PAGE_SIZE)
    return _page(page=found, **context)


def _seq(raw: str) -> int:
    """The seq in an entry's address; anything else is a 404 that says what an entry's address looks like."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_SEQ)) or not 1 <= int(raw) <= MAX_SEQ:
        shown = raw if len(raw) <= 30 else f"{raw[:30]}..."
        abort(404, f"no entry {shown!r}: an entry is named by its seq, a whole number from 1 to {MAX_SEQ}")
    return int(raw)


def _within_scope(log_filter: LogFilter) -> LogFilter:
    """A scoped token's person sees the entries about its projects only, as the API shows them."""
    person = current_person()
    if person is None or person.scope.everything:
        return log_filter
    return replace(log_filter, within=person.scope.log())


def _entry_or_404(seq: int) -> Any:
    found = entry(db(), seq)
    person = current_person()
    if found is not None and person is not None and not person.scope.everything:
        shown(db().get(ValueLogEntry, seq), f"there is no entry with seq {seq} in this token's projects")
    if found is None:
        top = head(db())
        holds = f"the log holds seq 1 to {top[0]}" if top else "the log is empty"
        abort(404, f"there is no entry with seq {seq}: {holds}")
    return found


@bp.get("/log/<raw_seq>")
@needs(Permission.READ)
def log_entry(raw_seq: str) -> Response:
    found = _entry_or_404(_seq(raw_seq))
    record = found.record
    computed = hashlib.sha256(found.canonical).hexdigest()
    expected_prev = GENESIS_HASH if record.seq == 1 else found.previous_hash
    try:
        text, readable = found.canonical.decode("utf-8"), True
    except UnicodeDecodeError:
        text, readable = found.canonical.decode("utf-8", errors="replace"), False
    return _page(
        template_name_or_list="log_entry.html",
        record=record,
        data=json.dumps(record.data, indent=2, ensure_ascii=False, sort_keys=True),
        canonical=text,
        canonical_readable=readable,
        size=len(found.canonical),
        computed=computed,
        expected_prev=expected_prev,
        has_next=found.has_next,
    )


@bp.get("/log/<raw_seq>/canonical.json")
@needs(Permission.READ)
def canonical(raw_seq: str) -> Response:
    """The exact bytes that were hashed, to hash them again with any tool (`sha256sum`)."""
    found = _entry_or_404(_seq(raw_seq))
    response = Response(found.canonical, 200, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="value-log-{found.record.seq}.canonical.json"'
    return display.private(response)


@bp.get("/log/verify")
@needs(Permission.READ)
def verify() -> Response:
    # Batch by batch, ending the read between batches: a long log neither fills memory nor stops the writers.
    result = verify_database(db(), release=True)
    # A gap or a swapped seq names an entry that is not where it should be: there is no such entry page to open.
    missing = not result.ok and (result.reason or "").startswith(("gap", "out of order"))
    return _page(template_name_or_list="log_verify.html", result=result, missing=missing, no_filter=LogFilter())


@bp.get("/log/export.<fmt>")
@needs(Permission.READ)
def export(fmt: str) -> Response:
    """The whole log, or the entries the filters select, as JSON Lines or CSV, streamed up to the head at the start."""
    if fmt not in FORMATS:
        abort(404, f"no export as {fmt[:20]!r}: the log is exported as {' or '.join(FORMATS)}")
    problems = [p for p in _problems(request.args) if p.parameter not in CURSORS]
    if any(name in request.args for name in CURSORS):
        problems.append(Problem("filters", "an export takes the filters only, not a page's after or before"))
    try:
        log_filter = _within_scope(LogFilter.parse(request.args))
    except QueryInvalid as exc:
        problems.extend(Problem(name, message) for name, message in exc.problems)
    if problems:
        abort(400, "; ".join(p.message for p in problems))
    top = head(db())
    upto = top[0] if top else 0
    name = f"value-log-{'filtered-' if log_filter.active else ''}to-seq-{upto}.{fmt}"

    def chunks() -> Iterator[str]:
        yield from export_lines(db(), fmt, log_filter=log_filter, upto=upto, release=True)

    response = Response(stream_with_context(chunks()), 200, content_type=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return display.private(response)


@bp.app_template_global("log_url")
def log_url(log_filter: LogFilter, **cursor: int) -> str:
    """The log page with the same filters, at another page."""
    values: dict[str, Any] = {**log_filter.args(), **cursor}
    return url_for("auditing.log", **values)


@bp.app_template_global("export_url")
def export_url(fmt: str, log_filter: LogFilter | None = None) -> str:
    values: dict[str, Any] = log_filter.args() if log_filter else {}
    return url_for("auditing.export", fmt=fmt, **values)
