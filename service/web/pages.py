"""People's pages: sign-in, the epics list, the epic page, and the form to state or change a hypothesis."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from service import tokens
from service.access import Permission
from service.domain.taxonomy import Taxonomy
from service.hypotheses import commands
from service.hypotheses.schema import HypothesisInvalid, Problem, validate
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.scopes import Scope
from service.storage.models import CheckinRound, Epic, Hypothesis, Reading, Ticket, ValueLogEntry
from service.web import tracker_links
from service.web.forms import HypothesisForm, SignInForm, SignOutForm
from service.web.people import current_person, needs, safe_next, shown, sign_in, sign_out, where

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")
SOURCE = "web"
HISTORY_LIMIT = 500


ERROR_CODES = (400, 403, 404, 410, 422, 429)


def shows_error_pages(blueprint: Blueprint) -> Blueprint:
    """Errors of the blueprint's pages as a page. Per blueprint, not app-wide: the API and the webhooks answer theirs
    as JSON (service/http_boundary.py). Call at import, before the blueprint is registered."""
    for code in ERROR_CODES:
        blueprint.register_error_handler(code, error_page)
    return blueprint


@bp.app_context_processor
def _people() -> dict[str, Any]:
    return {"person": current_person(), "signout_form": SignOutForm(), "Permission": Permission}


@bp.app_template_global("tracker_link")
def _tracker_link(key: str, url: str | None) -> str | None:
    """A ticket's address when it may be a link (service/web/tracker_links.py), else None."""
    return tracker_links.tracker_link(key, url, runtime().settings)


@bp.app_template_filter("number")
def _number(value: Any) -> str:
    """1200.0 reads as 1200 and 0.10 as 0.1; measures are stored as floats."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown(value: Any) -> str:
    """A logged value as a person reads it: lists and mappings as text, not as Python's repr."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return "; ".join(_shown(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(
            f"{key}: ({_shown(item)})" if isinstance(item, dict) else f"{key}: {_shown(item)}"
            for key, item in value.items()
        )
    return _number(value)


def _leaves(path: str, old: Any, new: Any) -> list[tuple[str, str, str]]:
    # A change inside the measure shows as `measure.target.value: 0.1 → 0.08`, not as two whole mappings.
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*old, *new]))
        return [leaf for key in keys for leaf in _leaves(f"{path}.{key}", old.get(key), new.get(key))]
    return [] if old == new else [(path, _shown(old), _shown(new))]


@bp.app_template_filter("changed")
def _changed(changes: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field path, old, new) for each changed value in a log entry's `changes`."""
    return [leaf for name, c in changes.items() for leaf in _leaves(name, c.get("old"), c.get("new"))]


@bp.get("/dimensions.css")
def dimension_colours() -> Response:
    """Each dimension chip's colour as a class: a stylesheet from this site, where a style="" attribute would need
    the Content-Security-Policy to allow inline style (service/security_headers.py)."""
    # Slugs are lower-case letters, digits and hyphens and colours six hex digits (checked when the taxonomy loads),
    # so neither can break out of the rule.
    rules = "".join(
        f".chip.dimension-{d.slug} {{ border-color: #{d.colour}; }}\n" for d in current_taxonomy().dimensions.values()
    )
    response = Response(rules, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"  # the taxonomy changes only with a restart
    return response


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> str | Response:
    form = SignInForm()
    if form.validate_on_submit():
        try:
            token = tokens.authenticate(db(), (form.token.data or "").strip())
        except tokens.TokenExpired as exc:
            form.token.errors = [str(exc)]
            return render_template("signin.html", form=form)
        if token is None:
            form.token.errors = ["unknown or revoked token: check it was copied whole, or ask an admin for a new one"]
        else:
            db().commit()  # keeps last_used_at
            sign_in(token)
            return redirect(safe_next(request.args.get("next")))
    return render_template("signin.html", form=form)


@bp.post("/signout")
def signout() -> Response:
    form = SignOutForm()
    if form.validate_on_submit():
        sign_out()
    return redirect(url_for("web.signin"))


@bp.get("/")
def home() -> Response:
    return redirect(url_for("dashboard.dashboard"))


@bp.get("/epics")
@needs(Permission.READ)
def epics() -> str:
    counts = dict(
        db()
        .execute(
            select(Hypothesis.epic_key, func.count())
            .where(Hypothesis.status != "retired")
            .group_by(Hypothesis.epic_key)
        )
        .all()
    )
    children = dict(
        db()
        .execute(select(Ticket.epic_key, func.count()).where(Ticket.epic_key.is_not(None)).group_by(Ticket.epic_key))
        .all()
    )
    rows = (
        db()
        .execute(where(select(Epic, Ticket).join(Ticket, Ticket.key == Epic.key), Scope.epics).order_by(Epic.key))
        .all()
    )
    return render_template("epics.html", rows=rows, counts=counts, children=children)


def _unknown_epic(key: str) -> str:
    return f"epic {key} is not known yet: epics become known when their tracker sends a webhook for them"


@bp.get("/epics/<path:key>")
@needs(Permission.READ)
def epic(key: str) -> str:
    found = shown(db().get(Epic, key), _unknown_epic(key))
    hypotheses = list(db().scalars(select(Hypothesis).where(Hypothesis.epic_key == key).order_by(Hypothesis.id)))
    readings: dict[int, list[Reading]] = defaultdict(list)
    for reading in db().scalars(
        select(Reading).where(Reading.hypothesis_id.in_([h.id for h in hypotheses])).order_by(Reading.date)
    ):
        readings[reading.hypothesis_id].append(reading)
    rounds: dict[int, list[CheckinRound]] = defaultdict(list)
    for round_ in db().scalars(
        select(CheckinRound)
        .where(CheckinRound.hypothesis_id.in_([h.id for h in hypotheses]))
        .order_by(CheckinRound.id.desc())
    ):
        rounds[round_.hypothesis_id].append(round_)
    children = list(db().scalars(select(Ticket).where(Ticket.epic_key == key).order_by(Ticket.key)))
    subjects = [commands.subject_of(h) for h in hypotheses]
    history = list(
        db().scalars(
            select(ValueLogEntry)
            .where(or_(ValueLogEntry.subject == key, ValueLogEntry.subject.in_(subjects)))
            .order_by(ValueLogEntry.seq.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    return render_template(
        "epic.html",
        epic=found,
        hypotheses=hypotheses,
        readings=readings,
        rounds=rounds,
        children=children,
        history=history,
        history_limit=HISTORY_LIMIT,
        taxonomy=current_taxonomy(),
    )


def _validated(values: dict[str, Any], form_problems: list[Problem], taxonomy: Taxonomy) -> Any:
    """All problems at once: the form's own (a malformed risk line) and the hypothesis's."""
    try:
        fields = validate(values, taxonomy)
    except HypothesisInvalid as exc:
        raise HypothesisInvalid([*form_problems, *exc.problems]) from None
    if form_problems:
        raise HypothesisInvalid(form_problems)
    return fields


@bp.route("/hypotheses/new", methods=["GET", "POST"])
@needs(Permission.WRITE_HYPOTHESES)
def new_hypothesis() -> str | Response:
    key = request.args.get("epic", "")
    shown(db().get(Epic, key), f"epic {key or '(none given)'} is not known yet: open the form from an epic's page")
    taxonomy = current_taxonomy()
    form = HypothesisForm().offer(taxonomy)
    errors: list[str] = []
    if form.validate_on_submit():
        values, problems = form.values()
        try:
            fields = _validated(values, problems, taxonomy)
            person = current_person()
            assert person is not None
            commands.create(
                db(),
                epic_key=key,
                fields=fields,
                origin="ui",
                actor=person.actor,
                source=SOURCE,
                reason=form.reason.data,
            )
        except HypothesisInvalid as exc:
            errors = form.show(exc.problems)
        else:
            db().commit()
            flash("Hypothesis saved.")
            return redirect(url_for("web.epic", key=key))
    return render_template("hypothesis_form.html", form=form, epic_key=key, hypothesis=None, errors=errors)


@bp.route("/hypotheses/<id:hypothesis_id>/edit", methods=["GET", "POST"])
@needs(Permission.WRITE_HYPOTHESES)
def edit_hypothesis(hypothesis_id: int) -> str | Response:
    hypothesis = shown(db().get(Hypothesis, hypothesis_id), f"no hypothesis {hypothesis_id}")
    taxonomy = current_taxonomy()
    form = HypothesisForm().offer(taxonomy)
    errors: list[str] = []
    if request.method == "GET":
        form.fill(commands.snapshot(hypothesis))
    elif form.validate_on_submit():
        values, problems = form.values()
        try:
            _validated({**commands.snapshot(hypothesis), **values}, problems, taxonomy)
            person = current_person()
            assert person is not None
            event = commands.patch(
                db(),
                hypothesis,
                changes=values,
                reason=form.reason.data,
                taxonomy=taxonomy,
                actor=person.actor,
                source=SOURCE,
            )
        except HypothesisInvalid as exc:
            errors = form.show(exc.problems)
        else:
            db().commit()
            flash("Hypothesis saved." if event else "Nothing changed.")
            return redirect(url_for("web.epic", key=hypothesis.epic_key))
    return render_template(
        "hypothesis_form.html", form=form, epic_key=hypothesis.epic_key, hypothesis=hypothesis, errors=errors
    )


def error_page(exc: Any) -> tuple[str, int]:
    """The error page of every page blueprint (`shows_error_pages`)."""
    # A CSRF failure is a 400 too: most often a form left open past its token's lifetime.
    message = getattr(exc, "description", None) or str(exc)
    if getattr(exc, "name", "") == "Bad Request" and "CSRF" in message:
        message = f"{message} Reload the form and send it again."
    return render_template("error.html", code=exc.code, message=message), exc.code


shows_error_pages(bp)
