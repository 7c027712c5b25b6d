"""Size figures of the code a newcomer reads: the largest classes and functions, and `Any`.

    python scripts/code_metrics.py [--top N] [FOLDER ...]

Prints the N largest classes and functions (lines, first to last line of the
definition, decorators excluded) of the project's packages, and how often `Any`
appears in station/. Used to tell whether a refactoring made the code easier to read.
"""

from __future__ import annotations

import argparse
import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("station", "vision", "models", "hardware", "sync", "calibration")


def definitions(folder: Path) -> list[tuple[int, str, str]]:
    """(lines, kind, "path:qualified name") of every class and function under `folder`."""
    found: list[tuple[int, str, str]] = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{prefix}{child.name}"
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    kind = "class" if isinstance(child, ast.ClassDef) else "function"
                    found.append((lines, kind, f"{path.relative_to(ROOT)}:{name}"))
                    stack.append((child, f"{name}."))
    return found


def any_count(folder: Path) -> int:
    """Occurrences of the name `Any` in the code (comments and strings excluded)."""
    count = 0
    for path in folder.rglob("*.py"):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        count += sum(1 for t in tokens if t.type == tokenize.NAME and t.string == "Any")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("folders", nargs="*", default=list(PACKAGES))
    args = parser.parse_args()
    found = [d for folder in args.folders for d in definitions(ROOT / folder)]
    for kind in ("class", "function"):
        print(f"| largest {kind} | lines |\n|---|---:|")
        for lines, _, name in sorted((d for d in found if d[1] == kind), reverse=True)[: args.top]:
            print(f"| {name} | {lines} |")
        print()
    print(f"`Any` in station/: {any_count(ROOT / 'station')}")


if __name__ == "__main__":
    main()
