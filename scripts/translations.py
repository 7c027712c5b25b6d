#!/usr/bin/env python3
"""Refresh the station's translations: extract every text into the `.ts` files, then compile them.

    .venv/bin/python scripts/translations.py          # lupdate + lrelease
    .venv/bin/python scripts/translations.py --check  # exit 1 when a `.qm` is out of date with its `.ts`

`pyside6-lupdate` reads the window's `self.tr(...)` / `QCoreApplication.translate(...)` calls in
station/ui and the `QT_TRANSLATE_NOOP(context, text)` markers of the Qt-free code (reasons,
status lines, the report) everywhere under station/, and merges them into
station/translations/station_<lang>.ts, keeping the translations already written. Translate the
new entries (Qt Linguist: `pyside6-linguist station/translations/station_fr.ts`, or any editor:
fill `<translation>` and remove `type="unfinished"`), then run this again to compile the `.qm`
the window loads. See docs/i18n.md.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "station" / "translations"
LANGUAGES = ("fr",)  # English is the source language: it needs no file


def _tool(name: str) -> str:
    """A Qt tool of this environment's PySide6 (beside the running Python first)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install the project's dev extra "
                         "(.venv/bin/pip install -e '.[dev]')")
    return found


def lupdate() -> None:
    """Merge the texts of the code into every `.ts` (no line numbers: the file changes only with texts)."""
    for language in LANGUAGES:
        ts = TRANSLATIONS / f"station_{language}.ts"
        subprocess.run([_tool("pyside6-lupdate"), "-extensions", "py", "-locations", "none", "-no-obsolete",
                        "-target-language", f"{language}_FR" if language == "fr" else language,
                        str(ROOT / "station"), "-ts", str(ts)], check=True)


def lrelease(ts: Path, qm: Path) -> None:
    """Compile one `.ts` into a `.qm`."""
    subprocess.run([_tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)


def stale() -> list[Path]:
    """The `.qm` files that differ from a fresh compile of their `.ts` (or are missing)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for language in LANGUAGES:
            ts = TRANSLATIONS / f"station_{language}.ts"
            qm = TRANSLATIONS / f"station_{language}.qm"
            fresh = Path(tmp) / qm.name
            lrelease(ts, fresh)
            if not qm.exists() or not filecmp.cmp(fresh, qm, shallow=False):
                out.append(qm)
    return out


def main() -> int:
    """Extract and compile, or with --check only say whether the `.qm` files are up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every .qm matches its .ts")
    args = parser.parse_args()
    if args.check:
        old = stale()
        for qm in old:
            print(f"{qm.relative_to(ROOT)} is out of date: run scripts/translations.py", file=sys.stderr)
        return 1 if old else 0
    lupdate()
    for language in LANGUAGES:
        lrelease(TRANSLATIONS / f"station_{language}.ts", TRANSLATIONS / f"station_{language}.qm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
