"""A realistic sprint for the summary tests, built with the service's own commands where they exist.

Jira sprint 37 ("Sprint 37", closed) of the permit service, after sprint 36. The figures the tests expect are
worked out by hand in the comments below, not computed by the code under test.

Tickets in sprint 37 (story points are Jira's):
  PRM-2  child of PRM-1   value:transparency, value:trust-legitimacy   closed  5 pt
  PRM-3  child of PRM-1   value:transparency                          open    3 pt
  PRM-4  child of PRM-10  value:efficiency, value-risk:privacy-security closed 8 pt
  PRM-5  -               (no label)                                   closed  2 pt
  PRM-6  -               (no label)                                   open    -
  PRM-7  left the sprint before its end: not its work
Hypotheses: H1 on PRM-1 (citizen, civil-servant; measure "refusals appealed" 0.18 -> 0.10), H2 on PRM-10
(citizen, civil-servant, it-developer). Rounds in sprint 37: R1 (H1) asks Anna, Ben (citizens), Clara, Dan (civil
servants); R2 (H2) asks Anna and Eve (developer). Answers: Anna -1 then +1 (replaced) on R1, Ben +2, Clara -2 with a
worse-off text, Dan silent; Anna -2 on R2 with a worse-off text, Eve +1 after R2 closed (late); then Anna is
erased. Sprint 36 had H1 answers citizen +2, +2 and civil-servant 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from service.checkins import answers, stakeholders
from service.config import Settings
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.hypotheses import commands
from service.storage.models import CheckinAnswer, CheckinPrompt, Hypothesis, Stakeholder, TicketIteration
from service.valuelog import chain
from tests.service import scenario

NOW = datetime.now(UTC).replace(microsecond=0)
S36_START, S37_START, S37_END = NOW - timedelta(days=42), NOW - timedelta(days=28), NOW - timedelta(days=14)
SPRINT_36, SPRINT_37 = "jira:sprint/36", "jira:sprint/37"


@dataclass(frozen=True)
class Sprint:
    h1: int
    h2: int
    r1: int
    r2: int


def build(session: Session, settings: Settings, taxonomy: Taxonomy) -> Sprint:
    for key, start, name in ((SPRINT_36, S36_START, "Sprint 36"), (SPRINT_37, S37_START, "Sprint 37")):
        row = scenario.sprint(session, key, 1, state="closed", name=name)
        row.start_at, row.end_at = start, start + timedelta(days=14)
    scenario.epic(session, "jira:PRM-1", "Publish refusal rules")
    scenario.epic(session, "jira:PRM-10", "Fraud check on applications")
    tickets = {
        "jira:PRM-2": ("jira:PRM-1", ["value:transparency", "value:trust-legitimacy"], "closed", 5.0),
        "jira:PRM-3": ("jira:PRM-1", ["value:transparency"], "open", 3.0),
        "jira:PRM-4": ("jira:PRM-10", ["value:efficiency", "value-risk:privacy-security"], "closed", 8.0),
        "jira:PRM-5": (None, [], "closed", 2.0),
        "jira:PRM-6": (None, [], "open", None),
        "jira:PRM-7": ("jira:PRM-1", ["value:efficiency"], "open", 13.0),
    }
    for key, (epic, labels, state, points) in tickets.items():
        row = scenario.ticket(session, key, epic, labels)
        row.state, row.story_points = state, points
        scenario.join(session, key, SPRINT_37)
    session.get(TicketIteration, ("jira:PRM-7", SPRINT_37)).left_at = S37_START + timedelta(days=3)  # type: ignore[union-attr]

    h1 = session.get(Hypothesis, scenario.hypothesis(session, "jira:PRM-1", status="proposed"))
    assert h1 is not None
    h1.measure = {
        "name": "refusals appealed",
        "baseline": {"value": 0.18, "date": "2026-09-01", "source": "case system"},
        "target": {"value": 0.10, "date": "2027-03-31"},
    }
    h1.trade_offs = ["efficiency"]
    h2 = session.get(Hypothesis, scenario.hypothesis(session, "jira:PRM-10"))
    assert h2 is not None
    h2.statement = "We believe an automated fraud check will result in faster decisions for honest applicants"
    h2.stakeholders = ["citizen", "civil-servant", "it-developer"]
    session.flush()

    # H1 became active during sprint 37 (logged then), and supported after its end (logged now).
    chain.append(
        session,
        kind=Kind.HYPOTHESIS_UPDATED,
        subject=f"hypothesis:{h1.id}",
        data={"epic": "jira:PRM-1", "changes": {"status": {"old": "proposed", "new": "active"}}, "reason": "pilot"},
        actor="po",
        source="api",
        at=S37_START + timedelta(days=2),
    )
    h1.status = "active"
    commands.set_lifecycle(session, h1, reason="appeals fell", actor="po", source="api", status="supported")
    for value, day in ((0.17, S37_START - timedelta(days=5)), (0.15, S37_START + timedelta(days=8))):
        commands.add_reading(
            session, h1, value=value, on=day.date(), reading_source="case system", actor="po", source="api"
        )
    # After the sprint: not part of its summary.
    commands.add_reading(
        session, h1, value=0.12, on=date.today(), reading_source="case system", actor="po", source="api"
    )

    def person(name: str, group: str) -> Stakeholder:
        fields = stakeholders.parse(stakeholders.NewStakeholder, {"name": name, "group": group, "scope": ["jira:PRM"]})
        return stakeholders.add(session, settings, taxonomy, fields, actor="po", source="api").person

    anna, ben = person("Anna", "citizen"), person("Ben", "citizen")
    clara, dan = person("Clara", "civil-servant"), person("Dan", "civil-servant")
    eve = person("Eve", "it-developer")

    # Sprint 36: H1's earlier answers (anonymous link answers), for the drop.
    r0 = scenario.round_(session, h1.id, SPRINT_36, opened_at=S36_START)
    scenario.answers(session, r0.id, "citizen", 2, 2)
    scenario.answers(session, r0.id, "civil-servant", 0)

    r1 = scenario.round_(session, h1.id, SPRINT_37, opened_at=S37_START, deadline=timedelta(days=30))
    r2 = scenario.round_(session, h2.id, SPRINT_37, opened_at=S37_START, deadline=timedelta(days=30))
    for round_, people in ((r1, (anna, ben, clara, dan)), (r2, (anna, eve))):
        for someone in people:
            session.add(
                CheckinPrompt(
                    round_id=round_.id,
                    stakeholder_id=someone.id,
                    group=someone.group,
                    channel="email",
                    nonce=f"nonce-{round_.id}-{someone.id}",
                    sent_at=S37_START,
                )
            )
    session.flush()

    def answer(round_: object, someone: Stakeholder, score: int, worse_off: str | None = None) -> None:
        fields = answers.parse({"score": score, "worse_off": worse_off}, taxonomy)
        answers.record(
            session,
            settings,
            round_,
            fields,
            group=someone.group,
            channel="api",
            actor="api",
            stakeholder=someone,  # type: ignore[arg-type]
        )

    answer(r1, anna, -1)
    answer(r1, anna, 1)  # replaces her -1
    answer(r1, ben, 2)
    answer(r1, clara, -2, "Applicants without a bank ID cannot appeal online")
    answer(r2, anna, -2, "Some honest applicants are flagged and wait weeks")
    r2.status = "closed"
    answer(r2, eve, 1)  # late
    stakeholders.erase(session, anna, actor="po", source="api")
    session.flush()
    assert session.query(CheckinAnswer).filter_by(round_id=r1.id).count() == 4  # the replaced one is kept
    return Sprint(h1=h1.id, h2=h2.id, r1=r1.id, r2=r2.id)
