"""CI runs the README's test command first, then lint, format and type checks; pre-commit runs the same checks."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECKS = [
    ".venv/bin/ruff check .",
    ".venv/bin/ruff format --check .",
    ".venv/bin/python -m mypy service integrations rules",
]


def _ci_commands() -> list[str]:
    """The commands of .ci/run in order, without comments and progress lines."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "echo "))]


def test_ci_runs_the_checks_after_the_readme_test_command_and_stops_on_the_first_failure() -> None:
    commands = _ci_commands()
    assert "set -euo pipefail" in commands  # a failing check fails the build
    tests = commands.index('eval "$test_command"')
    install = commands.index(".venv/bin/pip install -q -e '.[dev]'")
    # The test command makes a fresh .venv; the dev tools go into it afterwards, from the project's own extras.
    assert commands.index("rm -rf .venv") < tests < install
    assert commands[install + 1 :] == CHECKS


def test_pre_commit_runs_the_same_checks_with_local_hooks() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing to download
    hooks = config["repos"][0]["hooks"]
    assert [hook["entry"] for hook in hooks] == CHECKS
    assert {hook["language"] for hook in hooks} == {"system"}
    assert all(hook["pass_filenames"] is False for hook in hooks)  # whole tree, as in CI
