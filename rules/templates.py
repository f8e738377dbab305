"""Comment templates: Jinja2 in its sandbox, strict about undefined names, compiled when the pack loads."""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from rules.errors import Where
from rules.scope import Scope

# The sandbox refuses attribute access to Python internals; StrictUndefined turns a typo into an error the
# firing records (rule.failed) instead of an empty sentence posted on an epic.
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class Text:
    """A compiled template and its source (shown by `pvm rules test`)."""

    def __init__(self, source: str, where: Where) -> None:
        if not isinstance(source, str) or not source.strip():
            raise where.error("expected a non-empty text (a Jinja2 template)")
        try:
            self.template = _ENV.from_string(source)
        except TemplateSyntaxError as exc:
            raise where.error(f"template error on its line {exc.lineno}: {exc.message}") from exc
        self.source = source

    def render(self, scope: Scope, **extra: Any) -> str:
        return self.template.render(
            event=scope.event_view, fact=scope.facts.get, now=scope.now.isoformat(), **extra
        ).strip()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"Text({self.source!r})"
