"""The taxonomy: strict loading with file and line, project override and extension, regrouping by framework."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app import create_app
from service.config import ConfigError
from service.domain.taxonomy import DEFAULT_FILE, TaxonomyError, load, load_for
from tests.conftest import make_settings
from tests.helpers import run_cli


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_pack_has_twelve_dimensions_mapped_to_three_frameworks() -> None:
    taxonomy = load()
    assert len(taxonomy.dimensions) == 12
    assert set(taxonomy.groups) == {"citizen", "user", "civil-servant", "it-developer", "policy-owner"}
    assert set(taxonomy.frameworks) == {"t-and-a-2019", "hmt-pvf", "oecd-dgpf"}
    for dimension in taxonomy.dimensions.values():
        assert set(dimension.frameworks) == set(taxonomy.frameworks), dimension.slug
    assert taxonomy.resolve("a11y") == "accessibility-inclusion"
    assert taxonomy.parse_label("value-risk/privacy").dimension == "privacy-security"
    label = taxonomy.parse_label("value:transparancy")
    assert (label.dimension, label.suggestion) == (None, "transparency")


def test_regroup_by_framework() -> None:
    taxonomy = load()
    counts = {"transparency": 3, "privacy": 2, "efficiency": 4, "made-up": 1}
    assert taxonomy.regroup(counts, "hmt-pvf") == {
        "pursuing-goals": 0,
        "managing-inputs": 6,  # efficiency 4 + privacy-security 2
        "engaging-users-citizens": 3,
        "developing-system-capacity": 0,
        "unmapped": 1,
    }
    # privacy-security is grounded in two T&A categories and counts in both.
    tanda = taxonomy.regroup({"privacy-security": 2}, "t-and-a-2019")
    assert tanda["trust-confidence"] == 2 and tanda["ethical-professionalism"] == 2
    assert sum(taxonomy.regroup({"capability": 5}, "oecd-dgpf").values()) == 10
    with pytest.raises(KeyError, match="known: t-and-a-2019, hmt-pvf, oecd-dgpf"):
        taxonomy.regroup(counts, "nist")


def test_extension_adds_dimensions_aliases_and_groups(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """extends: default
dimensions:
  - slug: digital-inclusion
    name: Digital inclusion
    meaning: people without devices or skills are not left behind
    colour: "a2eeef"
    aliases: [offline-access]
    frameworks: {t-and-a-2019: [improved-public-services], oecd-dgpf: [user-driven]}
aliases:
  transparency: [offenheit]
stakeholder_groups:
  - slug: carer
    name: Carers and relatives
""",
    )
    taxonomy = load_for(tmp_path)
    assert len(taxonomy.dimensions) == 13
    assert taxonomy.resolve("offline-access") == "digital-inclusion"
    assert taxonomy.resolve("offenheit") == taxonomy.resolve("openness") == "transparency"
    assert "carer" in taxonomy.groups and "citizen" in taxonomy.groups
    assert taxonomy.regroup({"digital-inclusion": 1}, "oecd-dgpf")["user-driven"] == 1


def test_full_replacement(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """dimensions:
  - slug: wellbeing
    name: Wohlbefinden
stakeholder_groups:
  - slug: resident
""",
    )
    taxonomy = load_for(tmp_path)
    assert list(taxonomy.dimensions) == ["wellbeing"] and list(taxonomy.groups) == ["resident"]
    assert taxonomy.resolve("transparency") is None
    assert load_for(tmp_path / "nothing-here") == load(DEFAULT_FILE)


INVALID = [
    pytest.param("dimensions: [a\n", 2, "not valid YAML", id="yaml"),
    pytest.param(
        "extends: default\ndimensions:\n  - slug: transparency\n", 3, "'transparency' is already a dimension", id="dup"
    ),
    pytest.param(
        "extends: default\naliases:\n  transparncy: [open]\n",
        3,
        "unknown dimension 'transparncy'; did you mean",
        id="al",
    ),
    pytest.param(
        "extends: default\ndimensions:\n  - slug: x-y\n    frameworks: {hmt-pvf: [pursuing-gols]}\n",
        4,
        "'hmt-pvf' has no category 'pursuing-gols'",
        id="category",
    ),
    pytest.param("extends: default\ndimensions:\n  - slug: Big Slug\n", 3, "lower-case words", id="slug"),
    pytest.param(
        "extends: default\ndimensions:\n  - slug: ok-one\n    colour: red\n", 4, "six hex digits", id="colour"
    ),
    pytest.param("extends: default\ndimension:\n  - slug: x\n", 2, "unknown key 'dimension'", id="key"),
    pytest.param("extends: everything\n", 1, "`extends` can only be `default`", id="extends"),
    pytest.param("dimensions:\n  - slug: a\n", 1, "needs `stakeholder_groups`", id="incomplete"),
    pytest.param(
        "dimensions:\n  - slug: a\n  - slug: a\nstakeholder_groups:\n  - slug: b\n",
        3,
        "already a dimension",
        id="twice",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), INVALID)
def test_invalid_taxonomy_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TaxonomyError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    assert message in str(caught.value)


def test_invalid_taxonomy_stops_the_app_and_the_cli(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    path = _write(rules, "extends: default\ndimensions:\n  - slug: ok-one\n    colour: red\n")
    with pytest.raises(ConfigError, match=f"{path}:4: the colour of 'ok-one' must be six hex digits"):
        create_app(make_settings(tmp_path / "instance", rules_dir=rules))
    result = run_cli(
        ["db", "upgrade"], f"sqlite:///{tmp_path / 'cli.sqlite3'}", tmp_path / "instance", PVM_RULES_DIR=str(rules)
    )
    assert result.exit_code == 2
    assert f"{path}:4:" in result.output and len(result.output.strip().splitlines()) == 1
