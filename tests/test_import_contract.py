"""Package boundaries: rules/ and integrations/ use only the service's domain and config; no private name crosses.

Checked two ways, because each sees what the other cannot. The source walk reads every import statement, those
inside functions and under `if TYPE_CHECKING:` too, which an import at run time never executes (an import inside
a function is how a cycle gets dodged) and names the file and line. A fresh interpreter that imports every module
of rules/ and integrations/ then shows what got loaded, so a service module reached through an allowed one is
caught as well. A plain test rather than import-linter: no extra tool or configuration to keep in step.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("service", "rules", "integrations")
BOUNDED = ("rules", "integrations")


def allowed_from_service(module: str) -> bool:
    """What rules/ and integrations/ may import of the service: its shared vocabulary and its settings."""
    return module in ("service", "service.domain", "service.config") or module.startswith("service.domain.")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path = ROOT) -> bool:
    where = root.joinpath(*name.split("."))
    return (where / "__init__.py").exists() or where.with_suffix(".py").exists()


def package_of(module: str, root: Path = ROOT) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    return module if (root.joinpath(*module.split(".")) / "__init__.py").exists() else module.rpartition(".")[0]


def sources(*tops: str) -> Iterator[Path]:
    for top in tops:
        yield from sorted((ROOT / top).rglob("*.py"))


def imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module imported from, names) for every import statement, wherever it stands."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield node.lineno, base, [alias.name for alias in node.names]


def service_imports(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: module` for each service module this file imports that it may not."""
    module = module_name(path, root)
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for line, base, names in imports(tree, module, path.name == "__init__.py"):
        # `from service import storage` imports the module service.storage; `from service.domain import keys` is fine.
        imported = [f"{base}.{name}" for name in names if is_module(f"{base}.{name}", root)] or [base]
        for name in imported:
            if name.split(".")[0] == "service" and not allowed_from_service(name):
                found.append(f"{path.relative_to(root)}:{line}: {name}")
    return found


def private_crossings(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: module.name` for each private name (`_x`) this file takes from another package's module."""
    module = module_name(path, root)
    here = package_of(module, root)
    tree = ast.parse(path.read_text(), str(path))
    bound: dict[str, str] = {}  # local name -> the module it stands for
    found = []
    for line, base, names in imports(tree, module, path.name == "__init__.py"):
        if not names:  # `import a.b` binds `a`; `import a.b as c` is rare here and read like `from a import b`
            bound[base.split(".")[0]] = base.split(".")[0]
        for name in names:
            if is_module(f"{base}.{name}", root):
                bound[name] = f"{base}.{name}"
            elif _private(name) and base.split(".")[0] in OURS and package_of(base, root) != here:
                found.append(f"{path.relative_to(root)}:{line}: {base}.{name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in bound:
            owner = ".".join([bound[value.id], *chain])
            if owner.split(".")[0] in OURS and is_module(owner, root) and package_of(owner, root) != here:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {owner}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_rules_and_integrations_import_only_the_domain_and_config_of_the_service() -> None:
    found = [line for path in sources(*BOUNDED) for line in service_imports(path)]
    assert found == [], "rules/ and integrations/ may import only service.domain and service.config:\n" + "\n".join(
        found
    )


def test_importing_every_module_of_rules_and_integrations_loads_no_other_service_module() -> None:
    modules = [module_name(path) for path in sources(*BOUNDED)]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'service' or m.startswith('service.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "service.domain.events" in loaded  # the modules really were imported
    assert [name for name in loaded if not allowed_from_service(name)] == []


def test_no_private_name_crosses_a_package() -> None:
    found = [line for path in sources(*OURS) for line in private_crossings(path)]
    assert found == [], "private names used outside their package (make them public, or move the code):\n" + "\n".join(
        found
    )


def test_the_walk_finds_what_it_must_refuse(tmp_path: Path) -> None:
    """The checks above pass on an empty list; this shows they would see a breach, inside a function too."""
    for package in ("rules", "service", "service/valuelog", "service/domain"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "service/valuelog/chain.py").write_text("def _lock(): ...\n")
    (tmp_path / "service/domain/kinds.py").write_text("")
    action = tmp_path / "rules/actions.py"
    action.write_text(
        "from service.domain import kinds\n"
        "from service import valuelog\n"
        "def run():\n"
        "    from service.valuelog import chain, _hidden\n"
        "    chain._lock()\n"
    )
    assert service_imports(action, tmp_path) == [
        "rules/actions.py:2: service.valuelog",
        "rules/actions.py:4: service.valuelog.chain",
    ]
    assert private_crossings(action, tmp_path) == [
        "rules/actions.py:4: service.valuelog._hidden",
        "rules/actions.py:5: service.valuelog.chain._lock",
    ]
