"""The stakeholder pages: who is asked for check-ins, through which channels, about which hypotheses; and erasure.

Every write goes through service/checkins/stakeholders.py, so the value log gets the same entries as from the API
and the CLI. Auditors see what the API shows them: group, scope and which channels exist, never a name or contact.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice

from service.access import Permission
from service.checkins import stakeholders
from service.checkins.stakeholders import NewStakeholder, StakeholderChanges, StakeholderInvalid
from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import Problem
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.scopes import Scope
from service.storage.models import CheckinAnswer, Hypothesis, HypothesisStakeholder, Stakeholder
from service.web import display
from service.web.pages import shows_error_pages
from service.web.people import Person, current_person, needs, shown, where

bp = shows_error_pages(Blueprint("stakeholders", __name__))
SOURCE = "web"
SHOWN_ONCE = "stakeholder_secret_once"


class StakeholderForm(FlaskForm):
    name = StringField("Name", description="A person, or a body such as a residents' panel.")
    group = SelectField("Stakeholder group", validate_choice=False)
    email = StringField(
        "E-mail address (optional)",
        description="Prompts go by e-mail when the person has no account in the tracker where the epic lives.",
    )
    github = StringField("GitHub login (optional)", description="Without the @, e.g. octocat.")
    jira = StringField("Jira account id (optional)", description="On Jira Cloud, e.g. 5b10ac8d82e05b22cc7d4ef5.")
    webhook_url = StringField(
        "Webhook address (optional)",
        description="Prompts are posted there as signed JSON, e.g. for a chat relay. Its signing secret is shown "
        "once, after saving.",
    )
    scope = TextAreaField(
        "Projects they follow (optional)",
        description="One a line, e.g. github:owner/repo, github:owner or jira:PRM. Empty: every project.",
    )

    def offer(self, taxonomy: Taxonomy) -> StakeholderForm:
        self.group.choices = [
            SelectChoice("", "Choose a group"),
            *(SelectChoice(slug, name) for slug, name in taxonomy.groups.items()),
        ]
        return self

    def fill(self, person: Stakeholder) -> None:
        for name in ("name", "group", *stakeholders.CONTACTS):
            self._fields[name].data = getattr(person, name) or ""
        self.scope.data = "\n".join(person.scope or [])

    def values(self) -> dict[str, Any]:
        """The form as the API's fields: an empty contact is no contact (on a change: the contact removed)."""
        values: dict[str, Any] = {name: (self._fields[name].data or "").strip() for name in ("name", "group")}
        values.update({name: (self._fields[name].data or "").strip() or None for name in stakeholders.CONTACTS})
        values["scope"] = self.scope_entries()
        return values

    def scope_entries(self) -> list[str]:
        return [entry for entry in re.split(r"[\s,]+", self.scope.data or "") if entry]

    def show(self, problems: list[Problem], *, from_schema: bool) -> list[str]:
        """Each problem next to its field; those of no field come back for the top of the page.

        The schema's own words are written for API clients ("String should have at least 1 character"), so they are
        replaced by plain ones; the service's checks (an unknown group, a refused webhook address) already say in
        words what is wrong and what to do, and are shown as they are."""
        general = []
        for problem in problems:
            name, _, rest = problem.path.partition(".")
            field = self._fields.get(name) if name != "csrf_token" else None
            if field is None:
                general.append(problem.message)
                continue
            message = problem.message
            if from_schema:
                message = _PLAIN.get(name, message)
                if name == "scope" and rest.isdigit() and int(rest) < len(self.scope_entries()):
                    message = _PLAIN_SCOPE_ENTRY.format(entry=self.scope_entries()[int(rest)])
            field.errors = [*field.errors, message]
        return general


_PLAIN = {
    "name": "Enter a name of 1 to 200 characters: a person's name, or a body such as “Residents' panel”.",
    "group": "Choose the stakeholder group from the list.",
    "email": "Enter an e-mail address such as name@example.org, or leave the field empty.",
    "github": "Enter a GitHub login: letters, digits and single hyphens, at most 39 characters (e.g. octocat), "
    "or leave the field empty.",
    "jira": "Enter a Jira account id or user name without spaces (e.g. 5b10ac8d82e05b22cc7d4ef5), or leave the field "
    "empty.",
    "webhook_url": "Enter a web address of at most 1,000 characters, or leave the field empty.",
    "scope": "List at most 50 projects, one a line.",
}
_PLAIN_SCOPE_ENTRY = (
    "“{entry}” is not a project: write it as github:owner/repo, github:owner, jira:PRM or gitlab:group/project."
)


class AssignForm(FlaskForm):
    hypothesis_id = SelectField("Assign to a hypothesis", validate_choice=False)


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button is the confirmation."""


def _person() -> Person:
    person = current_person()
    assert person is not None  # `needs` signed them in
    return person


def _personal() -> bool:
    # The same line as the API's: every role but the auditor's works with the people it asks.
    return _person().role != "auditor"


def _stakeholder(stakeholder_id: int) -> Stakeholder:
    return shown(
        db().get(Stakeholder, stakeholder_id),
        f"no stakeholder {stakeholder_id}; the stakeholders are listed at /stakeholders",
    )


def _summary(form: FlaskForm) -> list[tuple[str, str]]:
    return [(field.id, error) for field in form if field.name != "csrf_token" for error in field.errors]


@bp.get("/stakeholders")
@needs(Permission.READ)
def listing() -> Response:
    listed = where(select(Stakeholder), Scope.stakeholders)
    people = list(db().scalars(listed.order_by(Stakeholder.erased_at.is_not(None), Stakeholder.id)))
    assigned: dict[int, list[int]] = {}
    for hypothesis_id, stakeholder_id in db().execute(
        select(HypothesisStakeholder.hypothesis_id, HypothesisStakeholder.stakeholder_id).order_by(
            HypothesisStakeholder.hypothesis_id
        )
    ):
        assigned.setdefault(stakeholder_id, []).append(hypothesis_id)
    rows = [stakeholders.as_dict(person, personal=_personal()) for person in people]
    page = render_template(
        "stakeholders.html", people=rows, assigned=assigned, personal=_personal(), taxonomy=current_taxonomy()
    )
    return display.private(Response(page, 200, mimetype="text/html"))


@bp.route("/stakeholders/new", methods=["GET", "POST"])
@needs(Permission.WRITE_STAKEHOLDERS)
def new() -> Response:
    taxonomy = current_taxonomy()
    form = StakeholderForm().offer(taxonomy)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            fields = stakeholders.parse(NewStakeholder, form.values())
        except StakeholderInvalid as exc:
            general = form.show(exc.problems, from_schema=True)
        else:
            try:
                _within_scope(fields.scope)
                saved = stakeholders.add(
                    db(), runtime().settings, taxonomy, fields, actor=_person().actor, source=SOURCE
                )
            except StakeholderInvalid as exc:
                general = form.show(exc.problems, from_schema=False)
            else:
                db().commit()
                return _saved(saved, "added")
    return _form_page(form, None, general)


@bp.route("/stakeholders/<id:stakeholder_id>/edit", methods=["GET", "POST"])
@needs(Permission.WRITE_STAKEHOLDERS)
def edit(stakeholder_id: int) -> Response:
    taxonomy = current_taxonomy()
    person = _stakeholder(stakeholder_id)
    if person.erased_at is not None:
        abort(410, "this stakeholder was erased and cannot be changed; add the person again if they agree")
    form = StakeholderForm().offer(taxonomy)
    general: list[str] = []
    if request.method == "GET":
        form.fill(person)
    elif form.validate_on_submit():
        try:
            changes = stakeholders.parse(StakeholderChanges, form.values())
        except StakeholderInvalid as exc:
            general = form.show(exc.problems, from_schema=True)
        else:
            try:
                if "scope" in changes.model_fields_set:
                    _within_scope(changes.scope or [])
                saved = stakeholders.change(
                    db(), runtime().settings, taxonomy, person, changes, actor=_person().actor, source=SOURCE
                )
            except StakeholderInvalid as exc:
                general = form.show(exc.problems, from_schema=False)
            else:
                db().commit()
                return _saved(saved, "saved")
    return _form_page(form, person, general)


def _within_scope(given: list[str]) -> None:
    """As in the API: a scoped token keeps the people it adds or changes inside its own projects."""
    mine = _person().scope
    if not mine.includes(Scope.of(given)):
        message = f"your token is limited to {mine.describe()}: give a scope within it, e.g. {mine.projects[0]}"
        raise StakeholderInvalid([Problem("scope", message)])


def _form_page(form: StakeholderForm, person: Stakeholder | None, general: list[str]) -> Response:
    page = render_template(
        "stakeholder_form.html", form=form, stakeholder=person, summary=_summary(form), general=general
    )
    status = 422 if general or _summary(form) else 200
    return display.private(Response(page, status, mimetype="text/html"))


def _saved(saved: stakeholders.Saved, verb: str) -> Response:
    if saved.webhook_secret:
        # Shown once, on the next page. Carried there in the signed session cookie, which that page clears at once:
        # a secret rendered into the answer to the POST instead would come back on a reload, and reloading would
        # send the form a second time.
        session[SHOWN_ONCE] = {"stakeholder": saved.person.id, "secret": saved.webhook_secret}
    flash(f"Stakeholder {verb}.")
    return redirect(url_for("stakeholders.detail", stakeholder_id=saved.person.id), code=303)


@bp.get("/stakeholders/<id:stakeholder_id>")
@needs(Permission.READ)
def detail(stakeholder_id: int) -> Response:
    person = _stakeholder(stakeholder_id)
    once = session.pop(SHOWN_ONCE, None)
    secret = once["secret"] if isinstance(once, dict) and once.get("stakeholder") == person.id else None
    return _detail_page(person, AssignForm(), secret=secret)


def _detail_page(person: Stakeholder, form: AssignForm, *, secret: str | None = None, status: int = 200) -> Response:
    assigned = list(
        db().scalars(
            select(Hypothesis)
            .join(HypothesisStakeholder, HypothesisStakeholder.hypothesis_id == Hypothesis.id)
            .where(HypothesisStakeholder.stakeholder_id == person.id)
            .order_by(Hypothesis.id)
        )
    )
    offered = db().scalars(
        select(Hypothesis)
        .where(Hypothesis.status != "retired", Hypothesis.id.not_in([h.id for h in assigned]))
        .order_by(Hypothesis.id)
    )
    form.hypothesis_id.choices = [
        SelectChoice("", "Choose a hypothesis"),
        *(SelectChoice(str(h.id), f"#{h.id} {_short(h.statement)} ({h.epic_key})") for h in offered),
    ]
    page = render_template(
        "stakeholder.html",
        shown=stakeholders.as_dict(person, personal=_personal()),
        stakeholder=person,
        personal=_personal(),
        assigned=assigned,
        form=form,
        summary=_summary(form),
        unassign_form=ConfirmForm(),
        secret=secret,
        taxonomy=current_taxonomy(),
    )
    return display.private(Response(page, status, mimetype="text/html"))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@bp.post("/stakeholders/<id:stakeholder_id>/assignments")
@needs(Permission.WRITE_STAKEHOLDERS)
def assign(stakeholder_id: int) -> Response:
    person = _stakeholder(stakeholder_id)
    form = AssignForm()
    if form.validate_on_submit():
        chosen = form.hypothesis_id.data or ""
        hypothesis = db().get(Hypothesis, int(chosen)) if chosen.isdigit() and 0 < int(chosen) < 2**31 else None
        if hypothesis is None:
            form.hypothesis_id.errors = ["Choose a hypothesis from the list."]
        else:
            try:
                added = stakeholders.assign(db(), hypothesis, person, actor=_person().actor, source=SOURCE)
            except StakeholderInvalid as exc:
                form.hypothesis_id.errors = [p.message for p in exc.problems]
            else:
                db().commit()
                flash(
                    f"Assigned to hypothesis #{hypothesis.id}: only the people assigned to it are asked about it now."
                    if added
                    else f"Already assigned to hypothesis #{hypothesis.id}; nothing changed."
                )
                return redirect(url_for("stakeholders.detail", stakeholder_id=person.id), code=303)
    return _detail_page(person, form, status=422)


@bp.post("/stakeholders/<id:stakeholder_id>/assignments/<id:hypothesis_id>/remove")
@needs(Permission.WRITE_STAKEHOLDERS)
def unassign(stakeholder_id: int, hypothesis_id: int) -> Response:
    person = _stakeholder(stakeholder_id)
    hypothesis = db().get(Hypothesis, hypothesis_id)
    if hypothesis is None:
        abort(404, f"no hypothesis {hypothesis_id}; the stakeholder's page lists their hypotheses")
    if ConfirmForm().validate_on_submit():
        if stakeholders.unassign(db(), hypothesis, person, actor=_person().actor, source=SOURCE):
            db().commit()
            flash(f"No longer assigned to hypothesis #{hypothesis.id}.")
        else:
            flash(f"Was not assigned to hypothesis #{hypothesis.id}; nothing changed.")
    return redirect(url_for("stakeholders.detail", stakeholder_id=person.id), code=303)


@bp.route("/stakeholders/<id:stakeholder_id>/erase", methods=["GET", "POST"])
@needs(Permission.WRITE_STAKEHOLDERS)
def erase(stakeholder_id: int) -> Response:
    person = _stakeholder(stakeholder_id)
    if person.erased_at is not None:
        flash("This stakeholder was erased already.")
        return redirect(url_for("stakeholders.detail", stakeholder_id=person.id), code=303)
    form = ConfirmForm()
    if form.validate_on_submit():
        cleared = stakeholders.erase(db(), person, actor=_person().actor, source=SOURCE)
        db().commit()
        # By number, not name: the message rides in the session cookie, and the name is what was to be forgotten.
        flash(
            f"Stakeholder #{person.id} was erased: name, contacts and the words of {cleared} "
            f"answer{'s' if cleared != 1 else ''} are gone; the group and the scores stay in the figures."
        )
        return redirect(url_for("stakeholders.detail", stakeholder_id=person.id), code=303)
    answers = db().scalar(select(func.count()).where(CheckinAnswer.stakeholder_id == person.id)) or 0
    page = render_template("stakeholder_erase.html", stakeholder=person, form=form, answers=answers)
    return display.private(Response(page, 200, mimetype="text/html"))
