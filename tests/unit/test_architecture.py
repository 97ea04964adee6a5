"""The layout holds: each package's public face, no private names across packages, the
worker's size targets. (Which layer may import which is import-linter's job, in
``make lint``; see ``[tool.importlinter]`` in pyproject.toml.)"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONCEPTS = (
    "matching",
    "routing",
    "incidents",
    "compliance",
    "topics",
    "access",
    "worker",
    "edge",
    "operations",
    "tools",
)


def concept(module: str) -> str:
    """``streams.worker.agents.deadlines`` -> ``streams.worker``; ``schemas.x`` -> ``schemas``."""
    parts = module.split(".")
    if parts[0] == "streams" and len(parts) > 1 and parts[1] in CONCEPTS:
        return ".".join(parts[:2])
    return parts[0]


def module_of(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def sources() -> list[Path]:
    return sorted(p for d in ("schemas", "streams", "tests") for p in (ROOT / d).rglob("*.py"))


def private_uses(path: Path) -> list[str]:
    """Private names this file takes from a package other than its own."""
    here = concept(module_of(path))
    tree = ast.parse(path.read_text())
    found = []
    imported: dict[str, str] = {}  # local name -> module, for `import x as y` / `from a import b`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in ("streams", "schemas"):
                continue
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                if _private(alias.name) and concept(node.module) != here:
                    found.append(f"{path.name}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("streams", "schemas"):
                    imported[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and _private(node.attr)
            and concept(imported[node.value.id]) != here
        ):
            found.append(f"{path.name}: {node.value.id}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_nothing_takes_a_private_name_from_another_package() -> None:
    assert [use for path in sources() for use in private_uses(path)] == []


@pytest.mark.parametrize("package", ["schemas", *(f"streams.{c}" for c in CONCEPTS)])
def test_every_package_declares_its_public_face(package: str) -> None:
    module = importlib.import_module(package)
    public = getattr(module, "__all__", None)
    assert module.__doc__, f"{package} says what it is for"
    assert public, f"{package} lists its public names in __all__"
    assert [name for name in public if not hasattr(module, name)] == []


def test_create_app_fits_on_a_page_and_no_worker_module_is_over_300_lines() -> None:
    app = ast.parse((ROOT / "streams" / "worker" / "app.py").read_text())
    (create_app,) = [n for n in app.body if getattr(n, "name", None) == "create_app"]
    assert isinstance(create_app, ast.FunctionDef)
    assert (create_app.end_lineno or 0) - create_app.lineno + 1 <= 100
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines())
        for p in (ROOT / "streams" / "worker").rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 300} == {}


def test_the_gateway_process_loads_no_faust_and_no_worker() -> None:
    """The gateway is the worker's sibling: what ``frontdoor gateway serve`` imports (the
    command line, the edge and its shell) loads neither faust, mode nor the worker."""
    probe = (
        "import json, sys\n"
        "import streams.cli, streams.edge, streams.edge.service\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in ('faust', 'mode') or m.startswith('streams.worker'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
