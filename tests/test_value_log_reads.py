"""The value log is written and verified, never queried to decide: only its own package and its viewers read it.

Decisions ("was this already done?") read state with a unique key (`once_keys`, `block_reports`, `checkin_rounds`).
Outside the places below, no module of service/, rules/ or integrations/ may name the model `ValueLogEntry` or
the table `value_log` in code (docstrings and comments may mention them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("service", "rules", "integrations")
ALLOWED = (
    "service/valuelog/",  # appends, verifies, exports, checkpoints, proves
    "service/storage/models.py",  # defines it
    "service/storage/migrations/",  # creates it; 0010 derived state from it once, at upgrade
    "service/api/log.py",  # GET /api/v1/log: shows it
    "service/web/pages.py",  # an epic's page shows its entries
    "service/summaries/",  # the sprint summary shows the changes, alerts and their reasons the log records
    "service/web/mustdo.py",  # the dashboard's must-do list shows the alerts the rules raised
    "service/scopes.py",  # which entries a scoped token may read
    "service/web/auditing.py",  # the auditor's view: a scoped person may open only the entries of their projects
)
TABLE = re.compile(r"\bvalue_log\b")


def docstrings(tree: ast.Module) -> set[int]:
    """Ids of the string nodes that are docstrings (of the module, classes and functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def log_reads(path: Path, source: str) -> list[str]:
    """`file:line: what` for each use of the value log's model or table name in code."""
    tree = ast.parse(source, str(path))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        named = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if named == "ValueLogEntry":
            found.append((node.lineno, "ValueLogEntry"))
        elif isinstance(node, ast.ImportFrom) and any(a.name == "ValueLogEntry" for a in node.names):
            found.append((node.lineno, "import ValueLogEntry"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and TABLE.search(node.value)
        ):
            found.append((node.lineno, f"table name in {node.value[:60]!r}"))
    return [f"{path}:{line}: {what}" for line, what in sorted(set(found))]


def test_only_the_log_s_own_package_and_its_viewers_read_the_value_log() -> None:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(ALLOWED):
                found += log_reads(Path(relative), path.read_text())
    assert found == [], (
        "the value log is read to decide here; keep the fact in state with a unique key instead "
        "(service/once_keys.py):\n" + "\n".join(found)
    )


def test_the_walk_finds_reads_and_leaves_docstrings_alone() -> None:
    source = (
        '"""Mentions value_log and ValueLogEntry in prose."""\n'
        "from service.storage.models import ValueLogEntry\n"
        "from service.storage import models\n"
        "def seen(session):\n"
        '    """Was it in the value_log?"""\n'
        "    session.scalars(select(ValueLogEntry.data))\n"
        "    session.scalars(select(models.ValueLogEntry))\n"
        '    return session.execute(text("SELECT data FROM value_log"))\n'
    )
    assert log_reads(Path("service/pipeline/x.py"), source) == [
        "service/pipeline/x.py:2: import ValueLogEntry",
        "service/pipeline/x.py:6: ValueLogEntry",
        "service/pipeline/x.py:7: ValueLogEntry",
        "service/pipeline/x.py:8: table name in 'SELECT data FROM value_log'",
    ]
