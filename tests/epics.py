"""Test helper: an epic (ticket + epic row) with optional child tickets and labels, as the pipeline would store it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.domain.taxonomy import load
from service.storage.models import Epic, Label, Ticket


def add_epic(
    session: Session,
    key: str,
    *,
    title: str = "Publish the refusal rules",
    description: str | None = None,
    children: dict[str, list[str]] | None = None,
) -> Epic:
    """`children` maps a child ticket key to its label names; value labels get their dimension and polarity."""
    source = key.split(":", 1)[0]
    session.add(Ticket(key=key, source=source, title=title, description=description, is_epic=True))
    epic = Epic(key=key)
    session.add(epic)
    taxonomy = load()
    for number, (child, labels) in enumerate((children or {}).items(), start=1):
        ticket = Ticket(key=child, source=source, title=f"Child ticket {number}", epic_key=key)
        for name in labels:
            parsed = taxonomy.parse_label(name)
            ticket.labels.append(
                Label(
                    name=name,
                    dimension=parsed.dimension if parsed else None,
                    polarity=parsed.polarity if parsed else None,
                )
            )
        session.add(ticket)
    session.flush()
    return epic
