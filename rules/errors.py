"""Pack errors: every message names the file, the rule, the path inside it and the valid choices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class PackError(ValueError):
    """A rule pack that cannot be loaded; nothing of a pack with an error is used."""

    def __init__(
        self, file: str, rule: str | None, path: str, message: str, choices: Iterable[str] | None = None
    ) -> None:
        self.file = file
        self.rule = rule
        self.path = path
        self.message = message
        self.choices = tuple(choices) if choices is not None else ()
        where = f"rule {rule!r}" if rule else "pack"
        text = f"{file}: {where}: {path}: {message}"
        if self.choices:
            text += f"; valid choices: {', '.join(self.choices)}"
        super().__init__(text)


@dataclass(frozen=True)
class Where:
    """Where in a pack the loader is, so any error can say so."""

    file: str
    rule: str | None
    path: str

    def at(self, part: str | int) -> Where:
        if isinstance(part, int):
            return Where(self.file, self.rule, f"{self.path}[{part}]")
        return Where(self.file, self.rule, f"{self.path}.{part}" if self.path else part)

    def for_rule(self, rule_id: str) -> Where:
        return Where(self.file, rule_id, self.path)

    def error(self, message: str, choices: Iterable[str] | None = None) -> PackError:
        return PackError(self.file, self.rule, self.path, message, choices)
