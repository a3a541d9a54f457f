"""Dependencies point inward: views read through selectors, selectors never call services, lib stands alone."""

import ast
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "inspection"
# Query-building attributes of a Django queryset or manager: a module using them runs its own queries.
QUERY_ATTRIBUTES = {
    "objects",
    "filter",
    "exclude",
    "order_by",
    "select_related",
    "prefetch_related",
    "annotate",
    "aggregate",
    "values_list",
    "in_bulk",
    "refresh_from_db",
}


def modules(folder: str) -> list[Path]:
    return sorted((APP_DIR / folder).rglob("*.py"))


def imported_modules(path: Path, source_root: Path = APP_DIR.parent) -> set[str]:
    """Every module `path` imports, at the top or inside functions, with relative imports spelled out."""
    package = ".".join(path.relative_to(source_root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in modules(folder):
        bad = sorted(name for name in imported_modules(path) if name.startswith(forbidden))
        if bad:
            found[str(path.relative_to(APP_DIR))] = bad
    return found


def test_no_selector_imports_a_service():
    assert modules("selectors")
    assert offenders("selectors", ("inspection.services",)) == {}


def test_lib_imports_no_service_selector_model_or_view():
    forbidden = (
        "inspection.services",
        "inspection.selectors",
        "inspection.models",
        "inspection.web",
        "inspection.api",
        "inspection.tasks",
        "django.db",
    )
    assert modules("lib")
    assert offenders("lib", forbidden) == {}


def test_no_view_or_serializer_builds_a_query_of_its_own():
    found = {}
    for folder in ("web", "api"):
        for path in modules(folder):
            attributes = {
                node.attr
                for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
                if isinstance(node, ast.Attribute)
            }
            if attributes & QUERY_ATTRIBUTES:
                found[str(path.relative_to(APP_DIR))] = sorted(attributes & QUERY_ATTRIBUTES)
    assert found == {}


def test_the_import_reader_sees_relative_and_function_level_imports(tmp_path):
    package = tmp_path / "inspection" / "selectors"
    package.mkdir(parents=True)
    module = package / "example.py"
    module.write_text("from ..services import jobs\n\ndef read():\n    from inspection.models import Job\n")
    assert {"inspection.services.jobs", "inspection.models.Job"} <= imported_modules(module, source_root=tmp_path)
