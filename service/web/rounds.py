"""Check-in rounds for product owners: who was asked and how it went, and the personal links of link-only people
to copy or print as QR codes. Those links are capabilities, so every page here needs WRITE_CHECKINS."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import segno
from flask import Blueprint, abort, render_template
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from service.access import Permission
from service.checkins import links
from service.checkins.delivery import status_of
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import db, runtime
from service.scopes import Scope
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Hypothesis,
    Iteration,
    OutboxItem,
    Stakeholder,
    Ticket,
)
from service.web import display
from service.web.pages import shows_error_pages
from service.web.people import needs, shown, where

bp = shows_error_pages(Blueprint("rounds", __name__))
LIST_LIMIT = 300
QR_SCALE = 5  # 5 px a module: about 4 cm for a typical link on paper, big enough for any phone camera


@dataclass(frozen=True)
class Delivery:
    """How far a prompt got: `state` is one word for the eye (delivered, undelivered, waiting, ...), `detail` says why
    and what to do about it."""

    state: str
    detail: str


def delivery(prompt: CheckinPrompt, item: OutboxItem | None) -> Delivery:
    """The state in the words of service/checkins/delivery.py (one answer for the page, the API and the summary),
    with what it means and what to do about it."""
    if prompt.channel == "link":
        return Delivery("hand over", "link only: give the person their link or its QR code")
    state = status_of(item)
    if item is None:
        return Delivery(state, "the prompt is queued when the round's prompts go out")
    attempts = f"{item.attempts} attempt{'s' if item.attempts != 1 else ''}"
    error = f": {item.error}" if item.error else ""
    if state == "delivered":
        return Delivery(state, f"sent {display.when(item.finished_at, 'earlier')}")
    if state == "recorded":
        return Delivery(state, "dry run (PVM_OUTBOUND=record): kept in the outbox, not sent")
    if state == "pending":
        return Delivery(state, f"in the outbox, {attempts} so far{error}")
    if item.status == "failed":
        return Delivery("undelivered", f"{attempts}{error}; it is tried again by itself")
    if item.status == "skipped":
        return Delivery("undelivered", f"not sent{error}; configure the channel, then `pvm outbox retry {item.id}`")
    return Delivery(
        "undelivered",
        f"gave up after {attempts}{error}; fix the contact on the stakeholder page, then `pvm outbox retry {item.id}`",
    )


@dataclass(frozen=True)
class PromptRow:
    prompt: CheckinPrompt
    person: Stakeholder | None
    delivery: Delivery
    reminder: Delivery | None
    link: str | None  # link-only people whose link can still answer
    link_problem: str | None  # why a link-only person's link cannot

    @property
    def name(self) -> str:
        if self.person is None:
            return f"removed stakeholder (prompt {self.prompt.id})"
        return self.person.name


def _round(round_id: int) -> CheckinRound:
    return shown(db().get(CheckinRound, round_id), f"no check-in round {round_id}; the rounds are listed at /checkins")


def _rows(round_: CheckinRound) -> list[PromptRow]:
    session, settings = db(), runtime().settings
    prompts = list(session.scalars(select(CheckinPrompt).where(CheckinPrompt.round_id == round_.id)))
    person_ids = {p.stakeholder_id for p in prompts if p.stakeholder_id is not None}
    outbox_ids = {i for p in prompts for i in (p.outbox_id, p.reminder_outbox_id) if i is not None}
    people = {p.id: p for p in session.scalars(select(Stakeholder).where(Stakeholder.id.in_(person_ids)))}
    outbox = {o.id: o for o in session.scalars(select(OutboxItem).where(OutboxItem.id.in_(outbox_ids)))}
    rows = []
    for prompt in prompts:
        person = people.get(prompt.stakeholder_id) if prompt.stakeholder_id is not None else None
        link: str | None = None
        problem: str | None = None
        if prompt.channel == "link":
            problem = _link_problem(prompt, person)
            link = links.url(settings, prompt) if problem is None else None
        reminder = None
        if prompt.reminder_outbox_id is not None or prompt.reminded_at is not None:
            item = outbox.get(prompt.reminder_outbox_id) if prompt.reminder_outbox_id is not None else None
            reminder = delivery(prompt, item)
        sent = delivery(prompt, outbox.get(prompt.outbox_id) if prompt.outbox_id is not None else None)
        rows.append(PromptRow(prompt, person, sent, reminder, link, problem))
    rows.sort(key=lambda row: (row.prompt.group, row.name.casefold(), row.prompt.id))
    return rows


def _link_problem(prompt: CheckinPrompt, person: Stakeholder | None) -> str | None:
    """Why the prompt's link can no longer answer (as the form would say), or None."""
    if person is not None and person.erased_at is not None:
        return "erased"
    settings = runtime().settings
    return links.open_link(db(), settings, links.token(settings, prompt)).problem


@bp.get("/checkins")
@needs(Permission.WRITE_CHECKINS)
def rounds() -> Response:
    session = db()
    asked = dict(session.execute(select(CheckinPrompt.round_id, func.count()).group_by(CheckinPrompt.round_id)).all())
    answered = dict(
        session.execute(
            select(CheckinPrompt.round_id, func.count())
            .where(CheckinPrompt.answered_at.is_not(None))
            .group_by(CheckinPrompt.round_id)
        ).all()
    )
    found = session.execute(
        where(
            select(CheckinRound, Hypothesis).join(Hypothesis, Hypothesis.id == CheckinRound.hypothesis_id), Scope.rounds
        )
        .order_by((CheckinRound.status == "open").desc(), CheckinRound.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    page = render_template("rounds.html", found=found, asked=asked, answered=answered, limit=LIST_LIMIT)
    return display.private(Response(page, 200, mimetype="text/html"))


@bp.get("/checkins/<id:round_id>")
@needs(Permission.WRITE_CHECKINS)
def round_page(round_id: int) -> Response:
    session, taxonomy = db(), current_taxonomy()
    round_ = _round(round_id)
    hypothesis = session.get(Hypothesis, round_.hypothesis_id)
    assert hypothesis is not None  # the round's foreign key cascades: no round outlives its hypothesis
    epic = session.get(Ticket, hypothesis.epic_key)
    iteration = session.get(Iteration, round_.iteration_key) if round_.iteration_key else None
    rows = _rows(round_)
    groups: dict[str, list[int]] = {}
    for row in rows:
        counts = groups.setdefault(row.prompt.group, [0, 0])
        counts[0] += 1 if row.prompt.answered_at is not None else 0
        counts[1] += 1
    answers = Counter(
        dict(
            session.execute(
                select(CheckinAnswer.channel, func.count())
                .where(CheckinAnswer.round_id == round_.id, CheckinAnswer.current.is_(True))
                .group_by(CheckinAnswer.channel)
            ).all()
        )
    )
    page = render_template(
        "round.html",
        round=round_,
        hypothesis=hypothesis,
        epic=epic,
        iteration=iteration,
        rows=rows,
        groups=groups,
        answered=sum(answered for answered, _ in groups.values()),
        answers=answers,
        taxonomy=taxonomy,
    )
    return display.private(Response(page, 200, mimetype="text/html"))


@bp.get("/checkins/<id:round_id>/prompts/<id:prompt_id>/qr.svg")
@needs(Permission.WRITE_CHECKINS)
def qr(round_id: int, prompt_id: int) -> Response:
    settings = runtime().settings
    prompt = db().get(CheckinPrompt, prompt_id)
    if prompt is None or prompt.round_id != round_id:
        abort(404, f"round {round_id} has no prompt {prompt_id}; the round's page lists its prompts")
    _round(round_id)  # outside the token's scope: the same 404 as for a round that does not exist
    if prompt.channel != "link":
        abort(404, f"prompt {prompt_id} goes by {prompt.channel}, not by a handed-over link: it has no QR code")
    person = db().get(Stakeholder, prompt.stakeholder_id) if prompt.stakeholder_id is not None else None
    problem = _link_problem(prompt, person)
    if problem is not None:
        abort(410, f"this link can no longer answer ({problem}): a QR code of it would only disappoint")
    svg = io.BytesIO()
    segno.make(links.url(settings, prompt), error="m").save(
        svg, kind="svg", scale=QR_SCALE, border=4, dark="#000", light="#fff", xmldecl=False, title="Answer link"
    )
    response = Response(svg.getvalue(), 200, mimetype="image/svg+xml")
    return display.private(response)
