"""Facts: named questions about the current state that conditions and templates may ask; the service answers them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Facts(Protocol):
    """The current state as seen from one event. Implemented with SQL in `service.facts`.

    `get` answers a name from `CATALOGUE` (parametric names carry their parameter after the last dot, e.g.
    `iteration.answer_mean.citizen`); an answer is None when the event has nothing to ask about (no epic, no
    iteration, no answers yet), and None never satisfies a comparison.
    """

    def get(self, name: str) -> Any: ...


@dataclass(frozen=True)
class FactSpec:
    name: str
    meaning: str
    parameter: str | None = None  # e.g. "group": the name takes `.<group>` after it


_SPECS = (
    FactSpec("ticket.is_epic", "the event's ticket is an epic"),
    FactSpec("ticket.state", "the event's ticket state (open, closed)"),
    FactSpec("epic.key", "the epic the event is about: the ticket itself when it is an epic, else its parent epic"),
    FactSpec("epic.title", "the title of that epic"),
    FactSpec("epic.active_hypotheses", "how many hypotheses of the epic are proposed or active"),
    FactSpec("epic.has_active_hypothesis", "the epic has at least one proposed or active hypothesis"),
    FactSpec("epic.hypotheses", "how many hypotheses the epic has in any status"),
    FactSpec("epic.active_hypothesis_ids", "ids of the epic's proposed or active hypotheses"),
    FactSpec("label.in_taxonomy", "the event's label (event.data.label) is a value label naming a known dimension"),
    FactSpec("label.is_value_label", "the event's label starts with value: or value-risk: (or the / aliases)"),
    FactSpec("label.polarity", "value or value-risk for the event's label, None for other labels"),
    FactSpec("label.dimension", "the dimension slug the event's label names, None when unknown"),
    FactSpec("iteration.key", "the iteration the event is about"),
    FactSpec("iteration.name", "that iteration's name"),
    FactSpec("iteration.epics", "keys of the epics with work (the epic or any of its tickets) in the iteration"),
    FactSpec(
        "iteration.epics_without_active_hypothesis",
        "those of the iteration's epics that have no proposed or active hypothesis",
    ),
    FactSpec("iteration.state", "that iteration's state (future, active, closed, deleted)"),
    FactSpec("iteration.active_hypothesis_ids", "ids of the proposed or active hypotheses of those epics"),
    FactSpec(
        "iteration.hypotheses_without_round",
        "those hypotheses that have no check-in round for the iteration yet",
    ),
    # The answer facts below count the event's hypothesis only when the event has one (check-in events), so an
    # alert on an epic is not hidden by other epics' answers; otherwise every hypothesis in the iteration.
    FactSpec("iteration.answer_mean", "mean check-in score of one stakeholder group in the iteration", "group"),
    FactSpec(
        "iteration.answer_mean_drop",
        "how far one group's mean fell since the previous iteration with answers (positive = fell)",
        "group",
    ),
    FactSpec("iteration.group_means", "mean score per stakeholder group in the iteration (a mapping)"),
    FactSpec("iteration.min_group_mean", "the lowest group mean in the iteration"),
    FactSpec("iteration.min_group", "the group with the lowest mean"),
    FactSpec("iteration.max_drop", "the largest drop of any group's mean since the previous iteration"),
    FactSpec("iteration.max_drop_group", "the group with the largest drop"),
    FactSpec("iteration.divergence", "highest minus lowest group mean in the iteration"),
    FactSpec("iteration.touched_dimensions", "dimensions of the value labels on tickets in the iteration"),
    FactSpec(
        "iteration.touched_dimensions_streak",
        "how many iterations in a row, ending with this one, touched only one and the same dimension",
    ),
    FactSpec("iteration.only_dimension", "the single dimension of that streak, None when it is 0"),
    FactSpec("round.id", "the check-in round the event is about"),
    FactSpec("round.status", "that round's status (open, closed)"),
    FactSpec("round.kind", "that round's kind (iteration, ex-post)"),
    FactSpec("round.response_rate", "answered prompts / prompts sent for the round (0 to 1)"),
    FactSpec("round.elapsed", "share of the round's time gone by (0 at opening, 1 at the deadline)"),
    FactSpec("hypothesis.id", "the hypothesis the event is about (from the round or the event)"),
    FactSpec("hypothesis.owner", "that hypothesis's owner"),
    FactSpec("hypothesis.statement", "that hypothesis's statement"),
    FactSpec("hypothesis.epic", "that hypothesis's epic key"),
)

CATALOGUE: dict[str, FactSpec] = {spec.name: spec for spec in _SPECS}


def fact_names() -> list[str]:
    """Every name a pack may use, parametric ones shown with their parameter: `iteration.answer_mean.<group>`."""
    return [f"{s.name}.<{s.parameter}>" if s.parameter else s.name for s in _SPECS]


def split_parameter(name: str) -> tuple[FactSpec, str | None] | None:
    """`iteration.answer_mean.citizen` -> (its spec, "citizen"); None when no fact has that name."""
    if name in CATALOGUE:
        spec = CATALOGUE[name]
        return None if spec.parameter else (spec, None)
    base, _, parameter = name.rpartition(".")
    found = CATALOGUE.get(base)
    if found is None or found.parameter is None or not parameter:
        return None
    return found, parameter
