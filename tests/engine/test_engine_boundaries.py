"""The engine is the pure ML core: it must never depend on the web platform."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parents[2] / "inspection" / "engine"
FORBIDDEN = {"django", "rest_framework", "celery", "kombu"}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_engine_module_imports_django_drf_or_celery():
    offenders = {
        str(path.relative_to(ENGINE_DIR)): sorted(imported_top_level_modules(path) & FORBIDDEN)
        for path in ENGINE_DIR.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_importing_the_engine_cli_loads_neither_django_nor_tensorflow():
    code = (
        "import sys, inspection.engine.cli, inspection.engine.methods, inspection.engine.bundle;"
        "print(sorted(m for m in ('django', 'celery', 'tensorflow') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ENGINE_DIR.parents[1]
    ).stdout.strip()
    assert output == "[]"
