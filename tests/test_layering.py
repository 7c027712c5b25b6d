"""docs/architecture.md's layering as a checked contract: which package may import which library.

import-linter (run by the test command) checks the project's packages against each
other; this test checks every file, including imports inside functions, for the
third-party libraries that must stay in their own folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# library -> the folders (path prefixes) allowed to import it
ALLOWED = {
    "torch": ("models/",),
    "torchvision": ("models/",),
    "PySide6": ("station/ui/",),
    "serial": ("hardware/",),
    "paho": ("sync/",),
}
PACKAGES = ("station", "vision", "models", "hardware", "sync", "calibration")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_library_is_imported_only_where_design_allows(library: str) -> None:
    offenders = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        if library in imports_of(path) and not rel.startswith(ALLOWED[library]):
            offenders.append(rel)
    assert offenders == [], f"{library} imported outside {ALLOWED[library]}: {offenders}"


def test_hardware_and_sync_import_nothing_else_of_the_project() -> None:
    for own in ("hardware", "sync", "calibration"):
        others = set(PACKAGES) - {own}
        for path in sorted((ROOT / own).rglob("*.py")):
            bad = imports_of(path) & others
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_import_cycle_between_modules_of_a_package() -> None:
    """A module that imports another never is imported back by it, even through others or
    inside a function: each part can be read, tested and replaced on its own."""
    import grimp  # installed with import-linter (the dev extra)

    cycles = set()
    for package in PACKAGES:
        graph = grimp.build_graph(package)
        for module in graph.modules:
            for imported in graph.find_modules_directly_imported_by(module):
                if imported.startswith(package) and graph.chain_exists(importer=imported, imported=module):
                    cycles.add(tuple(sorted((module, imported))))
    assert sorted(cycles) == []
