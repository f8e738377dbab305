"""Stakeholders: people and bodies asked for check-ins, how to reach them, and who is asked for a hypothesis.

Every change is a value-log entry that names the stakeholder by id and group and holds keyed commitments to their
name and contacts, never the text (service/sealing.py), so erasing a person leaves a log that still verifies.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints, ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service import address_guard, sealing, valuelog
from service.config import Settings
from service.domain import keys
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import Problem
from service.storage.models import CheckinAnswer, Hypothesis, HypothesisStakeholder, Stakeholder

CHANNELS = ("tracker", "email", "webhook", "link")
CONTACTS = ("email", "github", "jira", "webhook_url")
ERASED_NAME = "(erased)"


def _no_at(value: Any) -> Any:
    return value.removeprefix("@") if isinstance(value, str) else value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


GithubLogin = Annotated[
    str,
    BeforeValidator(_no_at),
    StringConstraints(strip_whitespace=True, max_length=39, pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9])*$"),
]
JiraAccount = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^\S+$")]
ScopeEntry = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^(github|jira|gitlab):[^\s#]+$")
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewStakeholder(_Fields):
    """A stakeholder as the API, the CLI and the page take it; only `name` and `group` are required."""

    name: str = Field(min_length=1, max_length=200)
    group: str = Field(min_length=1, max_length=50)
    email: EmailStr | None = None
    github: GithubLogin | None = None
    jira: JiraAccount | None = None
    webhook_url: Url | None = None
    scope: Annotated[list[ScopeEntry], BeforeValidator(_as_list)] = Field(default_factory=list, max_length=50)


class StakeholderChanges(_Fields):
    """A PATCH: any field; null removes a contact."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    group: str | None = Field(default=None, min_length=1, max_length=50)
    email: EmailStr | None = None
    github: GithubLogin | None = None
    jira: JiraAccount | None = None
    webhook_url: Url | None = None
    scope: Annotated[list[ScopeEntry] | None, BeforeValidator(_as_list)] = Field(default=None, max_length=50)


class StakeholderInvalid(ValueError):
    """What is wrong, one problem per field (`path`, `message`), as the API's 422 details."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


class StakeholderUnknown(LookupError):
    pass


def parse(model: type[_Fields], raw: Any) -> Any:
    """The validated fields, or StakeholderInvalid with every problem by field."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(part) for part in err["loc"]) or "$"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown field; the fields are {', '.join(NewStakeholder.model_fields)}"
            elif err["type"] == "string_pattern_mismatch":
                message = _PATTERN_HELP.get(str(err["loc"][0]), message)
            problems.append(Problem(path, message))
        raise StakeholderInvalid(problems) from None


_PATTERN_HELP = {
    "github": "a GitHub login: letters, digits and single hyphens, at most 39, e.g. octocat",
    "jira": "a Jira account id (Cloud, e.g. 5b10ac8d82e05b22cc7d4ef5) or user name (Data Center), without spaces",
    "scope": "a project such as github:owner/repo, github:owner, jira:PRM or gitlab:group/project",
}


@dataclass(frozen=True)
class Saved:
    person: Stakeholder
    webhook_secret: str | None = None  # shown once, in the answer that set a webhook_url


# Built once: every answer through the API reads it, and a statement object keeps its cache key (Session.get
# builds its query anew each time it has to read).
_BY_ID = select(Stakeholder).where(Stakeholder.id == bindparam("id"))


def get(session: Session, stakeholder_id: int) -> Stakeholder:
    person = session.scalar(_BY_ID, {"id": stakeholder_id})
    if person is None:
        raise StakeholderUnknown(f"no stakeholder {stakeholder_id}; list them with GET /api/v1/stakeholders")
    return person


def add(
    session: Session, settings: Settings, taxonomy: Taxonomy, fields: NewStakeholder, *, actor: str, source: str
) -> Saved:
    _check_group(taxonomy, fields.group)
    _check_webhook(settings, fields.webhook_url)
    person = Stakeholder(
        name=fields.name,
        group=fields.group.lower(),
        email=str(fields.email) if fields.email else None,
        github=fields.github,
        jira=fields.jira,
        webhook_url=fields.webhook_url,
        scope=list(dict.fromkeys(fields.scope)),
    )
    secret = _new_secret(settings, person) if person.webhook_url else None
    session.add(person)
    session.flush()
    _log(session, settings, Kind.STAKEHOLDER_ADDED, person, {}, actor=actor, source=source)
    return Saved(person, secret)


def change(
    session: Session,
    settings: Settings,
    taxonomy: Taxonomy,
    person: Stakeholder,
    changes: StakeholderChanges,
    *,
    actor: str,
    source: str,
) -> Saved:
    if person.erased_at is not None:
        raise StakeholderInvalid([Problem("$", "this stakeholder was erased; add the person again if they agree")])
    given = changes.model_dump(exclude_unset=True)
    if given.get("name", "") is None or given.get("group", "") is None:
        raise StakeholderInvalid([Problem("name" if given.get("name", "") is None else "group", "cannot be removed")])
    if "group" in given:
        _check_group(taxonomy, given["group"])
        given["group"] = given["group"].lower()
    if given.get("webhook_url"):
        _check_webhook(settings, given["webhook_url"])
    if "email" in given and given["email"] is not None:
        given["email"] = str(given["email"])
    if "scope" in given:  # null clears the scope: the person follows every project again
        given["scope"] = list(dict.fromkeys(given["scope"] or []))
    changed = {name: value for name, value in given.items() if getattr(person, name) != value}
    secret = None
    for name, value in changed.items():
        setattr(person, name, value)
    if "webhook_url" in changed:
        # A new address gets a new signing secret: the old one may be known where the old address pointed.
        secret = _new_secret(settings, person) if person.webhook_url else None
        if not person.webhook_url:
            person.webhook_secret = None
    if changed:
        person.updated_at = datetime.now(UTC)
        _log(
            session,
            settings,
            Kind.STAKEHOLDER_UPDATED,
            person,
            {"changed": sorted(changed)},
            actor=actor,
            source=source,
        )
    return Saved(person, secret)


def assign(session: Session, hypothesis: Hypothesis, person: Stakeholder, *, actor: str, source: str) -> bool:
    """False when already assigned (nothing written)."""
    if person.erased_at is not None:
        raise StakeholderInvalid([Problem("stakeholder_id", "this stakeholder was erased and cannot be asked")])
    if session.get(HypothesisStakeholder, (hypothesis.id, person.id)) is not None:
        return False
    session.add(HypothesisStakeholder(hypothesis_id=hypothesis.id, stakeholder_id=person.id))
    data = {"stakeholder": person.id, "group": person.group, "epic": hypothesis.epic_key}
    valuelog.append(
        session,
        kind=Kind.STAKEHOLDER_ASSIGNED,
        subject=f"hypothesis:{hypothesis.id}",
        data=data,
        actor=actor,
        source=source,
    )
    return True


def unassign(session: Session, hypothesis: Hypothesis, person: Stakeholder, *, actor: str, source: str) -> bool:
    link = session.get(HypothesisStakeholder, (hypothesis.id, person.id))
    if link is None:
        return False
    session.delete(link)
    data = {"stakeholder": person.id, "group": person.group, "epic": hypothesis.epic_key}
    valuelog.append(
        session,
        kind=Kind.STAKEHOLDER_UNASSIGNED,
        subject=f"hypothesis:{hypothesis.id}",
        data=data,
        actor=actor,
        source=source,
    )
    return True


def erase(session: Session, person: Stakeholder, *, actor: str, source: str) -> int:
    """Remove the person's name, contacts and answer texts; keep their group and scores. The number of answers
    whose texts were removed. The log held only commitments, so it still verifies."""
    if person.erased_at is not None:
        return 0
    person.name, person.erased_at, person.updated_at = ERASED_NAME, datetime.now(UTC), datetime.now(UTC)
    for name in (*CONTACTS, "webhook_secret"):
        setattr(person, name, None)
    person.scope = []
    answers = list(session.scalars(select(CheckinAnswer).where(CheckinAnswer.stakeholder_id == person.id)))
    for answer in answers:
        answer.text = answer.worse_off = answer.evidence_url = None
    data = {"stakeholder": person.id, "group": person.group, "answers_cleared": len(answers)}
    valuelog.append(
        session, kind=Kind.STAKEHOLDER_ERASED, subject=f"stakeholder:{person.id}", data=data, actor=actor, source=source
    )
    return len(answers)


@dataclass(frozen=True)
class Recipients:
    people: list[Stakeholder]
    unreachable: list[str] = field(default_factory=list)  # groups the hypothesis names with nobody to ask


def recipients(session: Session, hypothesis: Hypothesis) -> Recipients:
    """Who is asked about a hypothesis: the stakeholders assigned to it, or, when none are, everyone in scope of
    its epic's project whose group the hypothesis names. Erased people are never asked (an assignment to an erased
    person still means the hypothesis has its own list)."""
    assigned = list(
        session.scalars(
            select(Stakeholder)
            .join(HypothesisStakeholder, HypothesisStakeholder.stakeholder_id == Stakeholder.id)
            .where(HypothesisStakeholder.hypothesis_id == hypothesis.id)
            .order_by(Stakeholder.id)
        )
    )
    groups = list(hypothesis.stakeholders or [])
    if assigned:
        people = [person for person in assigned if person.erased_at is None]
    else:
        project = keys.project_of(hypothesis.epic_key)
        candidates = session.scalars(
            select(Stakeholder)
            .where(Stakeholder.group.in_(groups), Stakeholder.erased_at.is_(None))
            .order_by(Stakeholder.id)
        )
        people = [person for person in candidates if follows(person, project)]
    asked = {person.group for person in people}
    return Recipients(people, [group for group in groups if group not in asked])


def follows(person: Stakeholder, project: str) -> bool:
    """An empty scope follows every project; `github:owner` follows every repository of the owner."""
    scope = person.scope or []
    return not scope or any(project == entry or project.startswith(f"{entry}/") for entry in scope)


def channel_for(person: Stakeholder, epic_key: str) -> str:
    """How a person is asked: in the tracker where the epic lives when they have an account there, else by e-mail,
    else by their webhook, else by a link the product owner hands over (in person, on paper, by QR code)."""
    tracker = keys.tracker_of(epic_key)
    if (tracker == "github" and person.github) or (tracker == "jira" and person.jira):
        return "tracker"
    if person.email:
        return "email"
    if person.webhook_url:
        return "webhook"
    return "link"


def as_dict(person: Stakeholder, *, personal: bool) -> dict[str, Any]:
    """Without `personal` (the auditor's view): the group, scope and which channels exist, no name or contact."""
    shown: dict[str, Any] = {
        "id": person.id,
        "group": person.group,
        "scope": list(person.scope or []),
        "channels": [name for name in CONTACTS if getattr(person, name)],
        "created_at": person.created_at.isoformat() if person.created_at else None,
        "erased_at": person.erased_at.isoformat() if person.erased_at else None,
    }
    if personal:
        shown.update({name: getattr(person, name) for name in ("name", *CONTACTS)})
    return shown


def webhook_secret(settings: Settings, person: Stakeholder) -> str | None:
    return sealing.unseal(settings, person.webhook_secret) if person.webhook_secret else None


def _new_secret(settings: Settings, person: Stakeholder) -> str:
    # Standard Webhooks: `whsec_` and the base64 of the key's bytes.
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    person.webhook_secret = sealing.seal(settings, secret)
    return secret


def _check_group(taxonomy: Taxonomy, group: str) -> None:
    if group.strip().lower() in taxonomy.groups:
        return
    suggestion = taxonomy.suggest_group(group)
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    raise StakeholderInvalid(
        [Problem("group", f"unknown stakeholder group {group!r}; {hint}known: {', '.join(taxonomy.groups)}")]
    )


def _check_webhook(settings: Settings, url: str | None) -> None:
    if not url:
        return
    try:
        address_guard.check_url(url, settings.allowed_private_hosts)
    except address_guard.AddressRefused as exc:
        raise StakeholderInvalid([Problem("webhook_url", str(exc))]) from None


def _log(
    session: Session,
    settings: Settings,
    kind: str,
    person: Stakeholder,
    extra: dict[str, Any],
    *,
    actor: str,
    source: str,
) -> None:
    data = {
        "stakeholder": person.id,
        "group": person.group,
        "scope": list(person.scope or []),
        "name": sealing.commit(settings, person.name),
        "contacts": {
            name: sealing.commit(settings, getattr(person, name)) for name in CONTACTS if getattr(person, name)
        },
        **extra,
    }
    valuelog.append(session, kind=kind, subject=f"stakeholder:{person.id}", data=data, actor=actor, source=source)
