"""The README stays true: its two first commands, and a row for every setting the service reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONFIG = (ROOT / "service" / "config.py").read_text()


def test_starts_with_the_run_and_the_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[0].endswith("pvm serve")
    assert "pytest" in blocks[1]
    # .ci/run takes the test command from the marked block, so CI runs what a newcomer runs.
    assert "<!-- test-command -->\n```sh\n" + blocks[1] in README


def test_every_setting_is_documented() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    read = set(re.findall(r'"((?:PVM_|DATABASE_URL)[A-Z_]*)"', CONFIG))
    assert read, "config.py reads no settings?"
    assert sorted(name for name in read if f"`{name}`" not in table) == []
