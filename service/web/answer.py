"""The answer form behind each person's check-in link: no account, one answer per link, then a thank-you page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice

from service import reactions
from service.checkins import answers, links
from service.checkins.answers import CONFIDENCES, SCORES, AnswerInvalid
from service.checkins.messages import QUESTION
from service.domain import keys
from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import Problem
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Hypothesis,
    Iteration,
    Stakeholder,
    Ticket,
)
from service.valuelog import receipts
from service.web import display
from service.web.pages import shows_error_pages

bp = shows_error_pages(Blueprint("answer", __name__))
CHANNEL = "link"
TEXT_LIMIT = 5000

# What each problem page is answered with: the link is not there (tampered) or no longer there (the rest).
STATUS = {"tampered": 404, "expired": 410, "used": 410, "closed": 410}


class AnswerForm(FlaskForm):
    """Choices are checked by answers.parse, which all channels share, so the form keeps whatever was sent."""

    score = RadioField(
        QUESTION,  # the question the e-mail, the webhook and the tracker comment ask too
        choices=[SelectChoice(str(score), words) for score, words in SCORES.items()],
        validate_choice=False,
    )
    confidence = RadioField(
        "How sure are you? (optional)",
        choices=[SelectChoice(level, level.capitalize()) for level in CONFIDENCES],
        validate_choice=False,
    )
    dimension = SelectField("Which public value does it touch most? (optional)", validate_choice=False)
    text = TextAreaField("What have you noticed? (optional)")
    evidence_url = StringField("A link that shows it (optional)")
    worse_off = TextAreaField("Who is worse off, or not represented? (optional)")

    def offer(self, taxonomy: Taxonomy) -> AnswerForm:
        self.dimension.choices = [
            SelectChoice("", "None in particular"),
            *(SelectChoice(d.slug, d.name) for d in taxonomy.dimensions.values()),
        ]
        return self

    def raw(self) -> dict[str, Any]:
        """The answer as the API takes it. A field left blank is not given at all, as an API client would leave it
        out (and answers.parse raises TypeError on a blank text or link rather than treating it as absent)."""
        given = {name: self._fields[name].data for name in answers.AnswerFields.model_fields}
        return {name: value for name, value in given.items() if not (value is None or str(value).strip() == "")}


def _plain(problem: Problem, form: AnswerForm) -> str:
    """The validator's findings in words for someone who has never seen a schema (they are written for the API)."""
    field = problem.path.split(".", 1)[0]
    if field in ("text", "worse_off"):
        typed = len(form._fields[field].data or "")
        return f"Shorten this to {TEXT_LIMIT:,} characters or fewer (it has {typed:,})."
    return _PLAIN.get(field, _UNREADABLE)


_UNREADABLE = "Part of the form could not be read. Reload the page, check your answer and send it again."
_PLAIN = {
    "score": "Choose one answer, from “value destroyed” (-2) to “value clearly created” (+2).",
    "confidence": "Choose low, medium or high, or leave the question unanswered.",
    "dimension": "Choose a value from the list, or “None in particular”.",
    "evidence_url": "Enter a web address that starts with https:// or http:// (at most 1,000 characters), "
    "or leave the field empty.",
}


@dataclass(frozen=True)
class Context:
    """What the pages say about the link: the hypothesis in plain words and whom to contact."""

    prompt: CheckinPrompt | None
    round: CheckinRound | None
    hypothesis: Hypothesis | None
    epic_title: str | None
    groups: list[str]
    asked_as: str | None
    iteration: str | None
    contact: str

    @property
    def statement(self) -> str | None:
        return self.hypothesis.statement if self.hypothesis else None


def _context(prompt: CheckinPrompt | None, round_: CheckinRound | None, taxonomy: Taxonomy) -> Context:
    session = db()
    hypothesis = session.get(Hypothesis, round_.hypothesis_id) if round_ else None
    epic = session.get(Ticket, hypothesis.epic_key) if hypothesis else None
    title = (epic.title if epic else None) or (hypothesis.epic_key if hypothesis else None)
    iteration = session.get(Iteration, round_.iteration_key) if round_ and round_.iteration_key else None
    return Context(
        prompt=prompt,
        round=round_,
        hypothesis=hypothesis,
        epic_title=title,
        groups=[taxonomy.groups.get(g, g) for g in (hypothesis.stakeholders if hypothesis else [])],
        asked_as=taxonomy.groups.get(prompt.group, prompt.group) if prompt else None,
        iteration=(iteration.name or iteration.key) if iteration else round_.iteration_key if round_ else None,
        contact=_contact(hypothesis, title),
    )


def _contact(hypothesis: Hypothesis | None, epic_title: str | None) -> str:
    """The hypothesis's owner when it names one; else the product owner behind the epic; with a tampered link there
    is nothing to go by but whoever sent it."""
    if hypothesis is None:
        return "the person or team who sent you the link"
    if hypothesis.owner:
        return f"{hypothesis.owner}, who owns this part of the work"
    return f"the product owner of “{epic_title}” (project {keys.project_of(hypothesis.epic_key)})"


def _opened(token: str, now: datetime) -> links.Opened:
    opened = links.open_link(db(), runtime().settings, token, now)
    if opened.problem is None and opened.prompt is not None and opened.prompt.stakeholder_id is not None:
        person = db().get(Stakeholder, opened.prompt.stakeholder_id)
        if person is not None and person.erased_at is not None:
            # The person asked to be forgotten: their link must not collect new words about them.
            return links.Opened(None, None, "tampered")
    return opened


def _problem_page(opened: links.Opened, taxonomy: Taxonomy) -> Response:
    assert opened.problem is not None
    context = _context(opened.prompt, opened.round, taxonomy)
    page = render_template("answer_problem.html", problem=opened.problem, c=context)
    return display.private(Response(page, STATUS[opened.problem], mimetype="text/html"))


def _form_page(
    token: str, opened: links.Opened, form: AnswerForm, taxonomy: Taxonomy, status: int = 200, notice: str = ""
) -> Response:
    context = _context(opened.prompt, opened.round, taxonomy)
    summary = [(f"{name}-0" if name in ("score", "confidence") else name, error) for name, error in _errors(form)]
    page = render_template("answer_form.html", form=form, c=context, token=token, summary=summary, notice=notice)
    return display.private(Response(page, status, mimetype="text/html"))


def _errors(form: AnswerForm) -> list[tuple[str, str]]:
    return [(name, error) for name, field in form._fields.items() if name != "csrf_token" for error in field.errors]


@bp.route("/answer/<token>", methods=["GET", "POST"])
def answer_link(token: str) -> Response:
    now = datetime.now(UTC)
    taxonomy = current_taxonomy()
    opened = _opened(token, now)
    if opened.problem is not None:
        return _problem_page(opened, taxonomy)
    assert opened.prompt is not None and opened.round is not None
    form = AnswerForm().offer(taxonomy)
    if request.method == "GET" or not form.validate():
        return _form_page(token, opened, form, taxonomy)
    try:
        fields = answers.parse(form.raw(), taxonomy)
    except AnswerInvalid as exc:
        notice = ""
        for problem in exc.problems:
            field = form._fields.get(problem.path.split(".", 1)[0])
            if field is None or field.name == "csrf_token":
                notice = _UNREADABLE
            else:
                field.errors = [*field.errors, _plain(problem, form)]
        return _form_page(token, opened, form, taxonomy, status=422, notice=notice)
    if not _record(opened.prompt, opened.round, fields, now):
        db().rollback()
        return _problem_page(links.Opened(opened.prompt, opened.round, "used"), taxonomy)
    db().commit()
    return redirect(url_for("answer.thanks", token=token), code=303)


def _record(prompt: CheckinPrompt, round_: CheckinRound, fields: answers.AnswerFields, now: datetime) -> bool:
    """Record the answer and run the rules over it, or False when another request used the link first.

    The link is claimed by a conditional update before anything is written: two sends of the same form (a double
    click, two tabs, two web processes) cannot both find it unused, on SQLite or PostgreSQL."""
    session, settings = db(), runtime().settings
    claimed = cast(
        "CursorResult[Any]",
        session.execute(
            update(CheckinPrompt)
            .where(CheckinPrompt.id == prompt.id, CheckinPrompt.link_used_at.is_(None))
            .values(link_used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        return False
    set_committed_value(prompt, "link_used_at", now)  # what the row now holds, without writing it a second time
    person = session.get(Stakeholder, prompt.stakeholder_id) if prompt.stakeholder_id is not None else None
    actor = f"stakeholder:{person.id}" if person is not None else f"link:{prompt.id}"
    recorded = answers.record(
        session,
        settings,
        round_,
        fields,
        group=prompt.group,
        channel=CHANNEL,
        actor=actor,
        stakeholder=person,
        prompt=prompt,
        now=now,
    )
    reactions.react(session, [recorded.event], settings=settings, now=now, cause=f"answer:{recorded.answer.id}")
    return True


@bp.get("/answer/<token>/thanks")
def thanks(token: str) -> Response:
    taxonomy = current_taxonomy()
    opened = _opened(token, datetime.now(UTC))
    if opened.problem is None:
        return redirect(url_for("answer.answer_link", token=token))  # not answered yet: the form, not a false thank-you
    if opened.problem != "used":
        return _problem_page(opened, taxonomy)
    assert opened.prompt is not None
    receipt = _receipt(opened.prompt)
    # The configured address, not the request's: the receipt is kept, printed, and read long after this visit.
    proof_url = f"{runtime().settings.base_url}{url_for('transparency.proof', seq=receipt.seq)}" if receipt else None
    page = render_template(
        "answer_thanks.html", c=_context(opened.prompt, opened.round, taxonomy), receipt=receipt, proof_url=proof_url
    )
    return display.private(Response(page, 200, mimetype="text/html"))


def _receipt(prompt: CheckinPrompt) -> receipts.Receipt | None:
    """The log entry of the answer this link gave (a link answers once), for the person to keep."""
    answer = (
        db()
        .scalars(
            select(CheckinAnswer).where(CheckinAnswer.prompt_id == prompt.id).order_by(CheckinAnswer.id.desc()).limit(1)
        )
        .first()
    )
    return receipts.for_answer(db(), answer.round_id, answer.id) if answer else None


@bp.errorhandler(429)
def _too_many(exc: Any) -> Response:
    """The rate limit of the form (service/rate_limits.py): a page in the stakeholder's words, not the staff's error
    page, and nothing read from the link (an address that floods the form learns nothing from the answer)."""
    page = render_template("answer_busy.html", message=getattr(exc, "description", None) or str(exc))
    return display.private(Response(page, 429, mimetype="text/html"))


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError) -> Response:
    """A form left open past its token's lifetime, or a browser that dropped the cookie: the answer comes back
    filled in, with a fresh token, rather than an error page that loses what the person wrote."""
    token = (request.view_args or {}).get("token")
    taxonomy = current_taxonomy()
    opened = _opened(token, datetime.now(UTC)) if isinstance(token, str) else links.Opened(None, None, "tampered")
    if opened.problem is not None:
        return _problem_page(opened, taxonomy)
    form = AnswerForm(formdata=request.form).offer(taxonomy)
    notice = (
        "Your answer was not sent yet: the page had been open for a long time, or your browser did not keep its "
        "cookie. Check your answer below and press “Send my answer” again."
    )
    return _form_page(str(token), opened, form, taxonomy, status=400, notice=notice)
