"""How tickets are shown in epic and iteration reads: their value labels first of all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.storage.models import Label, Ticket


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def label(row: Label) -> dict[str, Any]:
    return {"name": row.name, "dimension": row.dimension, "polarity": row.polarity}


def ticket(row: Ticket) -> dict[str, Any]:
    return {
        "key": row.key,
        "title": row.title,
        "state": row.state,
        "url": row.url,
        "issue_type": row.issue_type,
        "epic": row.epic_key,
        "value_labels": [label(item) for item in row.labels if item.polarity],
        "labels": [item.name for item in row.labels],
    }
