"""The hypothesis record, one shape for the API, the form and the block: structure first, then the taxonomy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, FiniteFloat, ValidationError

from service.domain.taxonomy import Taxonomy
from service.hypotheses import sources
from service.untrusted import Refused, check_tree

PHASES = ("ex-ante", "during", "ex-post")
STATUSES = ("proposed", "active", "supported", "refuted", "pivoted", "retired")
CONFIDENCES = ("on track", "at risk", "off track")
# Moved by the lifecycle and by explicit edits; a block that leaves them out keeps their current values.
LIFECYCLE_FIELDS = ("phase", "status", "confidence")
CONTENT_FIELDS = ("statement", "dimensions", "stakeholders", "indicators", "measure", "owner", "risks", "trade_offs")
FIELDS = (*CONTENT_FIELDS, *LIFECYCLE_FIELDS)

Phase = Literal["ex-ante", "during", "ex-post"]
Status = Literal["proposed", "active", "supported", "refuted", "pivoted", "retired"]
Confidence = Literal["on track", "at risk", "off track"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a hypothesis, at a field path such as `measure.baseline.date`."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class HypothesisInvalid(ValueError):
    """A hypothesis that cannot be accepted; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


def _as_date(value: Any) -> Any:
    # YAML already turns 2026-09-01 into a date; JSON and forms send text. Numbers are refused on purpose:
    # pydantic would read 20260901 as seconds since 1970.
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value.isoformat()} has a time; write only the date as YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-09-01")


def _as_list(value: Any) -> Any:
    """`dimensions: transparency` means the same as `dimensions: [transparency]`."""
    return [value] if isinstance(value, str) else value


def _as_confidence(value: Any) -> Any:
    return (
        " ".join(value.strip().lower().replace("-", " ").replace("_", " ").split()) if isinstance(value, str) else value
    )


def _as_number(value: Any) -> Any:
    if isinstance(value, bool):  # YAML's yes/no would otherwise count as 1 and 0
        raise ValueError(f"{value!r} is not a number")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_as_date)]
Number = Annotated[FiniteFloat, BeforeValidator(_as_number)]  # NaN and infinity cannot be compared or hashed (RFC 8785)
Texts = Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]], BeforeValidator(_as_list)]


class _Strict(BaseModel):
    # Unknown keys are errors: a misspelt `stakholders:` must not be dropped silently.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class Baseline(_Strict):
    value: Number
    date: IsoDate
    source: str | None = Field(default=None, max_length=300)


class Target(_Strict):
    value: Number
    date: IsoDate


class Measure(_Strict):
    name: str = Field(min_length=1, max_length=300)
    baseline: Baseline | None = None
    target: Target | None = None
    # Read daily by the clock (service/hypotheses/pull.py): `path` into a JSON answer, or `column` of a CSV one.
    # 300 characters: the URL becomes each reading's `source`.
    source_url: str | None = Field(default=None, min_length=1, max_length=300, pattern=r"^https?://\S+$")
    path: str | None = Field(default=None, min_length=1, max_length=200, pattern=sources.PATH.pattern)
    column: str | None = Field(default=None, min_length=1, max_length=200)


class Risk(_Strict):
    """An expected dis-benefit (value co-destruction) and the indicator that would show it."""

    dimension: str = Field(min_length=1)
    description: str = Field(min_length=1, max_length=1000)
    watch: str | None = Field(default=None, max_length=500)


class HypothesisFields(_Strict):
    """What a hypothesis says. Only `statement` and `dimensions` are required."""

    statement: str = Field(min_length=1, max_length=5000)
    dimensions: Annotated[list[str], BeforeValidator(_as_list)] = Field(min_length=1)
    stakeholders: Texts = Field(default_factory=list)
    indicators: Texts = Field(default_factory=list)
    measure: Measure | None = None
    owner: str | None = Field(default=None, max_length=200)
    risks: list[Risk] = Field(default_factory=list)
    trade_offs: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        default_factory=list, validation_alias=AliasChoices("trade_offs", "trade-offs")
    )
    phase: Phase | None = None
    status: Status | None = None
    confidence: Annotated[Confidence | None, BeforeValidator(_as_confidence)] = None


class NewHypothesis(HypothesisFields):
    """A new hypothesis: its fields, plus the reason when it starts in a status other than `proposed`."""

    reason: str | None = Field(default=None, max_length=1000)


class HypothesisChanges(_Strict):
    """A PATCH: any fields, plus the reason, which a status change must carry."""

    statement: str | None = Field(default=None, min_length=1, max_length=5000)
    dimensions: Annotated[list[str] | None, BeforeValidator(_as_list)] = None
    stakeholders: Texts | None = None
    indicators: Texts | None = None
    measure: Measure | None = None
    owner: str | None = Field(default=None, max_length=200)
    risks: list[Risk] | None = None
    trade_offs: Annotated[list[str] | None, BeforeValidator(_as_list)] = Field(
        default=None, validation_alias=AliasChoices("trade_offs", "trade-offs")
    )
    phase: Phase | None = None
    status: Status | None = None
    confidence: Annotated[Confidence | None, BeforeValidator(_as_confidence)] = None
    reason: str | None = Field(default=None, max_length=1000)


def structure_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "$"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field; the fields are {', '.join(f.replace('_', '-') for f in FIELDS)}"
        elif err["type"] == "string_pattern_mismatch" and path in _PATTERN_HELP:
            message = _PATTERN_HELP[path]
        problems.append(Problem(path.replace("trade-offs", "trade_offs"), message))
    return problems


_PATTERN_HELP = {
    "measure.source_url": "an http(s) address without spaces, e.g. https://data.example.org/appeals.json",
    "measure.path": sources.PATH_HELP,
}


def _slug_problem(taxonomy: Taxonomy, path: str, written: Any, *, group: bool = False) -> Problem | None:
    if not isinstance(written, str):
        return None  # the structure check reports the wrong type
    if group:
        if written.strip().lower() in taxonomy.groups:
            return None
        suggestion, kind, known = taxonomy.suggest_group(written), "stakeholder group", list(taxonomy.groups)
    else:
        if taxonomy.resolve(written) is not None:
            return None
        suggestion, kind, known = taxonomy.suggest(written), "dimension", list(taxonomy.dimensions)
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    return Problem(path, f"unknown {kind} {written!r}; {hint}known: {', '.join(known)}")


def _items(value: Any) -> list[Any]:
    value = _as_list(value)
    return list(value) if isinstance(value, list) else []


def meaning_problems(raw: Mapping[str, Any], taxonomy: Taxonomy) -> list[Problem]:
    """Checks against the taxonomy and between fields, on the raw input so they add to the structure errors."""
    problems: list[Problem] = []
    checks = [(f"dimensions.{i}", v, False) for i, v in enumerate(_items(raw.get("dimensions")))]
    checks += [(f"stakeholders.{i}", v, True) for i, v in enumerate(_items(raw.get("stakeholders")))]
    trade_offs = raw.get("trade_offs", raw.get("trade-offs"))
    checks += [(f"trade_offs.{i}", v, False) for i, v in enumerate(_items(trade_offs))]
    for i, risk in enumerate(_items(raw.get("risks"))):
        if isinstance(risk, Mapping) and "dimension" in risk:
            checks.append((f"risks.{i}.dimension", risk["dimension"], False))
    for path, written, group in checks:
        problem = _slug_problem(taxonomy, path, written, group=group)
        if problem:
            problems.append(problem)
    measure = raw.get("measure")
    if isinstance(measure, Mapping) and measure.get("target") is not None and measure.get("baseline") is None:
        problems.append(
            Problem(
                "measure.baseline",
                "a target needs a baseline to be measured against: add a baseline with its value, date and source",
            )
        )
    if isinstance(measure, Mapping):
        problems += _source_problems(measure)
    return problems


def _source_problems(measure: Mapping[str, Any]) -> list[Problem]:
    """A source_url comes with where to read in it: `path` (JSON) or `column` (CSV), exactly one."""
    has_path, has_column = measure.get("path") is not None, measure.get("column") is not None
    if measure.get("source_url") is None:
        if has_path or has_column:
            where = "measure.path" if has_path else "measure.column"
            return [Problem(where, "says where to read in measure.source_url, which is missing: add source_url")]
        return []
    if has_path and has_column:
        return [Problem("measure.column", "give either path (a JSON answer) or column (a CSV answer), not both")]
    if not has_path and not has_column:
        return [
            Problem(
                "measure.source_url",
                f"say where the number is: path ({sources.PATH_HELP}) or column (a CSV column; its last row is read)",
            )
        ]
    return []


def validate(raw: Any, taxonomy: Taxonomy, model: type[BaseModel] = HypothesisFields) -> Any:
    """The validated model with slugs made canonical (aliases resolved), or HypothesisInvalid with every problem."""
    if not isinstance(raw, Mapping):
        raise HypothesisInvalid([Problem("$", "a hypothesis is a mapping of fields, e.g. `statement: We believe ...`")])
    try:
        # API bodies were checked on arrival; blocks (YAML can write "\0") and forms were not. One check for all.
        check_tree(raw)
    except Refused as exc:
        raise HypothesisInvalid([Problem(exc.path.removeprefix("$.") or "$", exc.reason)]) from None
    problems = meaning_problems(raw, taxonomy)
    try:
        fields = model.model_validate(dict(raw))
    except ValidationError as exc:
        seen = {p.path for p in problems}
        problems += [p for p in structure_problems(exc) if p.path not in seen]
    if not problems:
        problems += _address_problems(fields)
    if problems:
        raise HypothesisInvalid(problems)
    return _canonical(fields, taxonomy)


def _address_problems(fields: Any) -> list[Problem]:
    """The source is checked by the address guard when saved, as it is before every pull."""
    measure = getattr(fields, "measure", None)
    url = getattr(measure, "source_url", None)
    refused = sources.url_problem(url) if url else None
    return [Problem("measure.source_url", refused)] if refused else []


def _canonical(fields: Any, taxonomy: Taxonomy) -> Any:
    def dims(values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        out: list[str] = []
        for value in values:
            slug = taxonomy.resolve(value) or value
            if slug not in out:
                out.append(slug)
        return out

    changes: dict[str, Any] = {"dimensions": dims(fields.dimensions), "trade_offs": dims(fields.trade_offs)}
    if fields.stakeholders is not None:
        changes["stakeholders"] = list(dict.fromkeys(s.lower() for s in fields.stakeholders))
    if fields.risks is not None:
        changes["risks"] = [
            r.model_copy(update={"dimension": taxonomy.resolve(r.dimension) or r.dimension}) for r in fields.risks
        ]
    return fields.model_copy(update=changes)


def record_values(fields: HypothesisFields) -> dict[str, Any]:
    """The content columns of a Hypothesis row, JSON-ready."""
    dumped = fields.model_dump(mode="json", exclude_none=False)
    measure = fields.measure.model_dump(mode="json", exclude_none=True) if fields.measure else None
    return {
        "statement": dumped["statement"],
        "dimensions": dumped["dimensions"],
        "stakeholders": dumped["stakeholders"],
        "indicators": dumped["indicators"],
        "measure": measure,
        "owner": dumped["owner"],
        "risks": [{k: v for k, v in r.items() if v is not None} for r in dumped["risks"]],
        "trade_offs": dumped["trade_offs"],
    }
