"""The value taxonomy: dimensions, their aliases and framework mapping, stakeholder groups, value labels."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

# The default ships as data beside the rule packs (rules/packs/), where projects find and copy it.
DEFAULT_FILE = Path(str(files("rules").joinpath("packs", "taxonomy.yaml")))
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

    def regroup(self, counts: Mapping[str, float], framework: str) -> dict[str, float]:
        """Dimension counts (e.g. tickets per dimension) summed per category of one framework.

        A dimension grounded in two categories counts in both, so the categories can add up to more than the
        input: each says how much work touched it. Every category is listed (0 when none); counts for slugs the
        taxonomy does not know go to "unmapped", so nothing is dropped silently.
        """
        if framework not in self.frameworks:
            raise KeyError(f"unknown framework {framework!r}; known: {', '.join(self.frameworks)}")
        totals: dict[str, float] = dict.fromkeys(self.frameworks[framework]["categories"], 0)
        for written, count in counts.items():
            slug = self.resolve(written)
            categories = self.dimensions[slug].frameworks.get(framework, ()) if slug else ()
            for category in categories or ("unmapped",):
                totals[category] = totals.get(category, 0) + count
        return totals

    def parse_label(self, name: str) -> ValueLabel | None:
        """None for labels that are not value labels at all (e.g. `bug`)."""
        match = _LABEL.match(name.strip())
        if not match:
            return None
        polarity, written = match.group(1).lower(), match.group(2).strip()
        dimension = self.resolve(written)
        return ValueLabel(name, polarity, written, dimension, None if dimension else self.suggest(written))


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COLOUR = re.compile(r"^[0-9a-fA-F]{6}$")
_FULL_KEYS = ("frameworks", "dimensions", "stakeholder_groups")
_EXTENSION_KEYS = ("extends", "frameworks", "dimensions", "aliases", "stakeholder_groups")
_DIMENSION_KEYS = ("slug", "name", "meaning", "colour", "aliases", "frameworks")


class _Reader:
    """Reads YAML nodes, collecting errors that name the file and the line of the node at fault."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []

    def fail(self, node: yaml.Node, message: str) -> None:
        self.errors.append(f"{self.path}:{node.start_mark.line + 1}: {message}")

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...] | None = None) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping of `key: value` lines")
            return {}
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in out:  # PyYAML would silently keep the last one
                self.fail(key, f"{name!r} appears twice in {what}")
            elif allowed is not None and name not in allowed:
                self.fail(key, f"unknown key {name!r} in {what}; allowed: {', '.join(allowed)}")
            else:
                out[name] = value
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list (`- item` lines or `[a, b]`)")
            return []
        return list(node.value)

    def text(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.fail(node, f"{what} must be a non-empty text")
            return None
        return str(node.value).strip()

    def slug(self, node: yaml.Node, what: str) -> str | None:
        value = self.text(node, what)
        if value is not None and not _SLUG.match(value):
            self.fail(node, f"{what} {value!r} must be lower-case words joined by hyphens, e.g. digital-inclusion")
            return None
        return value


def _frameworks(reader: _Reader, node: yaml.Node) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for slug, body in reader.mapping(node, "frameworks").items():
        fields = reader.mapping(body, f"framework {slug!r}", ("name", "categories"))
        if "categories" not in fields:
            reader.fail(body, f"framework {slug!r} needs `categories: {{slug: name, ...}}`")
            continue
        categories = {
            str(k): reader.text(v, f"category {k!r}") or str(k)
            for k, v in reader.mapping(fields["categories"], f"the categories of {slug!r}").items()
        }
        name = reader.text(fields["name"], f"the name of framework {slug!r}") if "name" in fields else slug
        out[slug] = {"name": name or slug, "categories": categories}
    return out


def _dimension(reader: _Reader, node: yaml.Node, frameworks: dict[str, dict[str, Any]]) -> Dimension | None:
    fields = reader.mapping(node, "a dimension", _DIMENSION_KEYS)
    if "slug" not in fields:
        if isinstance(node, yaml.MappingNode):
            reader.fail(node, "a dimension needs a `slug`")
        return None
    slug = reader.slug(fields["slug"], "the dimension slug")
    if slug is None:
        return None
    colour = reader.text(fields["colour"], f"the colour of {slug!r}") if "colour" in fields else "ededed"
    if colour is not None and not _COLOUR.match(colour):
        reader.fail(fields["colour"], f"the colour of {slug!r} must be six hex digits such as 1d76db, got {colour!r}")
    aliases = []
    for alias_node in reader.sequence(fields["aliases"], f"the aliases of {slug!r}") if "aliases" in fields else []:
        alias = reader.slug(alias_node, f"an alias of {slug!r}")
        if alias:
            aliases.append(alias)
    mapping: dict[str, tuple[str, ...]] = {}
    if "frameworks" in fields:
        for framework, categories_node in reader.mapping(fields["frameworks"], f"the frameworks of {slug!r}").items():
            if framework not in frameworks:
                reader.fail(
                    categories_node,
                    f"{slug!r} names framework {framework!r}, which is not defined; known: {', '.join(frameworks)}",
                )
                continue
            known = frameworks[framework]["categories"]
            categories = []
            for category_node in reader.sequence(categories_node, f"{slug!r}'s categories of {framework!r}"):
                category = reader.text(category_node, "a category")
                if category is not None and category not in known:
                    reader.fail(
                        category_node,
                        f"{framework!r} has no category {category!r}; known: {', '.join(known)}",
                    )
                elif category is not None:
                    categories.append(category)
            mapping[framework] = tuple(categories)
    name = reader.text(fields["name"], f"the name of {slug!r}") if "name" in fields else slug
    meaning = reader.text(fields["meaning"], f"the meaning of {slug!r}") if "meaning" in fields else ""
    return Dimension(slug, name or slug, meaning or "", colour or "ededed", tuple(aliases), mapping)


def _groups(reader: _Reader, node: yaml.Node, existing: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in reader.sequence(node, "stakeholder_groups"):
        fields = reader.mapping(item, "a stakeholder group", ("slug", "name"))
        if "slug" not in fields:
            if isinstance(item, yaml.MappingNode):
                reader.fail(item, "a stakeholder group needs a `slug`")
            continue
        slug = reader.slug(fields["slug"], "the stakeholder group slug")
        if slug is None:
            continue
        if slug in out or slug in existing:
            reader.fail(fields["slug"], f"stakeholder group {slug!r} is defined twice")
            continue
        out[slug] = (reader.text(fields["name"], f"the name of {slug!r}") if "name" in fields else None) or slug
    return out


def _add_dimensions(
    reader: _Reader, node: yaml.Node, frameworks: dict[str, dict[str, Any]], existing: dict[str, Dimension]
) -> dict[str, Dimension]:
    out = dict(existing)
    taken = {alias: d.slug for d in existing.values() for alias in d.aliases} | {s: s for s in existing}
    for item in reader.sequence(node, "dimensions"):
        dimension = _dimension(reader, item, frameworks)
        if dimension is None:
            continue
        if dimension.slug in taken:
            where = (
                "a dimension" if taken[dimension.slug] == dimension.slug else f"an alias of {taken[dimension.slug]!r}"
            )
            hint = " (to change a default dimension, copy the default taxonomy and drop `extends`)" if existing else ""
            reader.fail(item, f"{dimension.slug!r} is already {where}{hint}")
            continue
        for alias in dimension.aliases:
            if alias in taken:
                reader.fail(item, f"alias {alias!r} of {dimension.slug!r} is already used by {taken[alias]!r}")
            taken[alias] = dimension.slug
        taken[dimension.slug] = dimension.slug
        out[dimension.slug] = dimension
    return out


def _compose(path: Path) -> yaml.Node:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise TaxonomyError(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: not valid YAML: {exc}") from exc
    if node is None:
        raise TaxonomyError(f"{path}:1: the taxonomy is empty; it needs dimensions and stakeholder_groups")
    return node


def load(path: Path = DEFAULT_FILE) -> Taxonomy:
    """Load and strictly validate a taxonomy file: a full one, or `extends: default` adding to the default.

    Raises TaxonomyError naming the file and line of the first problem (and how many more there are).
    """
    root = _compose(path)
    reader = _Reader(path)
    top = reader.mapping(root, "the taxonomy", _EXTENSION_KEYS)
    if "extends" in top:
        taxonomy = _extend(reader, path, top)
    else:
        for key in ("aliases",):
            if key in top:
                reader.fail(top[key], f"`{key}` only belongs in an extension (`extends: default`)")
        for key in ("dimensions", "stakeholder_groups"):
            if key not in top and isinstance(root, yaml.MappingNode):
                reader.fail(root, f"the taxonomy needs `{key}` (or `extends: default` to add to the default one)")
        frameworks = _frameworks(reader, top["frameworks"]) if "frameworks" in top else {}
        dimensions = _add_dimensions(reader, top["dimensions"], frameworks, {}) if "dimensions" in top else {}
        groups = _groups(reader, top["stakeholder_groups"], {}) if "stakeholder_groups" in top else {}
        if "dimensions" in top and not dimensions and not reader.errors:
            reader.fail(top["dimensions"], "the taxonomy needs at least one dimension")
        taxonomy = Taxonomy(dimensions, groups, frameworks, source=str(path))
    if reader.errors:
        more = f" (and {len(reader.errors) - 1} more problems)" if len(reader.errors) > 1 else ""
        raise TaxonomyError(reader.errors[0] + more)
    return taxonomy


def _extend(reader: _Reader, path: Path, top: dict[str, yaml.Node]) -> Taxonomy:
    """`extends: default`: new frameworks, dimensions and stakeholder groups, and more aliases for known dimensions."""
    if reader.text(top["extends"], "extends") != "default":
        reader.fail(top["extends"], "`extends` can only be `default` (or leave it out to replace the taxonomy)")
    base = load(DEFAULT_FILE)
    frameworks = dict(base.frameworks)
    if "frameworks" in top:
        for slug, framework in _frameworks(reader, top["frameworks"]).items():
            if slug in frameworks:
                reader.fail(top["frameworks"], f"framework {slug!r} is already defined by the default taxonomy")
            frameworks[slug] = framework
    dimensions = dict(base.dimensions)
    if "dimensions" in top:
        dimensions = _add_dimensions(reader, top["dimensions"], frameworks, dimensions)
    if "aliases" in top:
        taken = {alias: d.slug for d in dimensions.values() for alias in d.aliases} | {s: s for s in dimensions}
        for slug, aliases_node in reader.mapping(top["aliases"], "aliases").items():
            if slug not in dimensions:
                suggestion = base.suggest(slug, list(dimensions))
                hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                reader.fail(aliases_node, f"aliases for unknown dimension {slug!r}{hint}")
                continue
            added = []
            for alias_node in reader.sequence(aliases_node, f"the aliases of {slug!r}"):
                alias = reader.slug(alias_node, f"an alias of {slug!r}")
                if alias is None:
                    continue
                if alias in taken:
                    reader.fail(alias_node, f"alias {alias!r} is already used by {taken[alias]!r}")
                    continue
                taken[alias] = slug
                added.append(alias)
            current = dimensions[slug]
            dimensions[slug] = Dimension(
                current.slug,
                current.name,
                current.meaning,
                current.colour,
                (*current.aliases, *added),
                current.frameworks,
            )
    groups = dict(base.groups)
    if "stakeholder_groups" in top:
        groups.update(_groups(reader, top["stakeholder_groups"], groups))
    return Taxonomy(dimensions, groups, frameworks, source=str(path))


@lru_cache(maxsize=8)
def load_for(rules_dir: Path | None) -> Taxonomy:
    """The project's taxonomy when PVM_RULES_DIR has one, else the default."""
    if rules_dir is not None and (rules_dir / "taxonomy.yaml").is_file():
        return load(rules_dir / "taxonomy.yaml")
    return load()
