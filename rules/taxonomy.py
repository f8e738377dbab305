"""The value taxonomy: dimensions, their aliases and framework mapping, stakeholder groups, value labels."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = Path(__file__).with_name("packs") / "taxonomy.yaml"
# `value:<slug>`, `value-risk:<slug>` and the aliases with `/` (DESIGN.md).
_LABEL = re.compile(r"^(value|value-risk)[:/]\s*(.+)$", re.IGNORECASE)


class TaxonomyError(ValueError):
    """An invalid taxonomy file; the message names the file and line."""


@dataclass(frozen=True)
class Dimension:
    slug: str
    name: str
    meaning: str
    colour: str
    aliases: tuple[str, ...] = ()
    frameworks: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueLabel:
    """A parsed value label: `value-risk:privacy` -> polarity value-risk, slug privacy-security."""

    name: str
    polarity: str  # "value" | "value-risk"
    written: str  # the slug as written on the label
    dimension: str | None  # the canonical slug, or None when unknown
    suggestion: str | None  # the closest known slug when unknown


@dataclass(frozen=True)
class Taxonomy:
    dimensions: dict[str, Dimension]
    groups: dict[str, str]  # slug -> name
    frameworks: dict[str, dict[str, Any]]
    source: str = str(DEFAULT_FILE)

    def resolve(self, slug: str) -> str | None:
        """A known slug or alias -> the canonical slug."""
        wanted = slug.strip().lower()
        if wanted in self.dimensions:
            return wanted
        for dimension in self.dimensions.values():
            if wanted in dimension.aliases:
                return dimension.slug
        return None

    def suggest(self, slug: str, choices: list[str] | None = None) -> str | None:
        """The closest known slug, for "did you mean ...?" replies."""
        names = choices if choices is not None else list(self.dimensions)
        aliases = {} if choices is not None else {a: d.slug for d in self.dimensions.values() for a in d.aliases}
        close = difflib.get_close_matches(slug.strip().lower(), [*names, *aliases], n=1, cutoff=0.5)
        return aliases.get(close[0], close[0]) if close else None

    def suggest_group(self, slug: str) -> str | None:
        return self.suggest(slug, list(self.groups))

    def parse_label(self, name: str) -> ValueLabel | None:
        """None for labels that are not value labels at all (e.g. `bug`)."""
        match = _LABEL.match(name.strip())
        if not match:
            return None
        polarity, written = match.group(1).lower(), match.group(2).strip()
        dimension = self.resolve(written)
        return ValueLabel(name, polarity, written, dimension, None if dimension else self.suggest(written))


def _dimension(raw: dict[str, Any]) -> Dimension:
    return Dimension(
        slug=str(raw["slug"]),
        name=str(raw.get("name", raw["slug"])),
        meaning=str(raw.get("meaning", "")),
        colour=str(raw.get("colour", "ededed")),
        aliases=tuple(str(a).lower() for a in raw.get("aliases", [])),
        frameworks={str(k): tuple(v) for k, v in (raw.get("frameworks") or {}).items()},
    )


def load(path: Path = DEFAULT_FILE) -> Taxonomy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Taxonomy(
            dimensions={d.slug: d for d in map(_dimension, raw["dimensions"])},
            groups={str(g["slug"]): str(g.get("name", g["slug"])) for g in raw["stakeholder_groups"]},
            frameworks=raw.get("frameworks") or {},
            source=str(path),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise TaxonomyError(f"{path}: not a valid taxonomy: {exc}") from exc


@lru_cache(maxsize=8)
def load_for(rules_dir: Path | None) -> Taxonomy:
    """The project's taxonomy when PVM_RULES_DIR has one, else the default."""
    if rules_dir is not None and (rules_dir / "taxonomy.yaml").is_file():
        return load(rules_dir / "taxonomy.yaml")
    return load()
