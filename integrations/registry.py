"""Finding integrations: every entry point in the group `pvm.integrations` names an `Integration`."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from integrations.base import Integration

GROUP = "pvm.integrations"


class UnknownTracker(LookupError):
    pass


@lru_cache(maxsize=1)
def all_integrations() -> dict[str, Integration]:
    found: dict[str, Integration] = {}
    for entry in entry_points(group=GROUP):
        integration = entry.load()
        if not isinstance(integration, Integration):
            raise TypeError(f"entry point {entry.name} = {entry.value} is not an integrations.base.Integration")
        found[integration.name] = integration
    return found


def get(name: str) -> Integration:
    try:
        return all_integrations()[name]
    except KeyError:
        known = ", ".join(sorted(all_integrations())) or "none installed"
        raise UnknownTracker(f"no integration called {name!r}; installed: {known}") from None
