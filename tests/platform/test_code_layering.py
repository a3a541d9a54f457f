"""Rules of the code's shape that import-linter cannot see: pages and API views read
through selectors and write through services, never through a model's manager."""

import ast
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "inspection"
ENTRY_POINT_FOLDERS = ("api", "web")


def manager_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "_base_manager"}
    ]


def test_api_views_and_pages_never_use_a_model_manager():
    offenders = {
        str(path.relative_to(APP_DIR)): lines
        for folder in ENTRY_POINT_FOLDERS
        for path in sorted((APP_DIR / folder).rglob("*.py"))
        if (lines := manager_uses(path))
    }
    assert offenders == {}


def test_the_manager_check_finds_a_manager_use(tmp_path):
    sample = tmp_path / "view.py"
    sample.write_text("from inspection.models import Product\n\n\ndef page():\n    return Product.objects.all()\n")
    assert manager_uses(sample) == [5]
