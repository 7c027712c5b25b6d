"""The .deb packages a minimal Debian lacks to run the station: scripts/bundle.sh's list.

    python3 scripts/bundle_debs.py PACKAGE...   prints one package name a line

Follows Depends and Pre-Depends as apt would install them: of alternatives (`a | b`) the
first only, of a virtual package its first provider — the others may conflict with the base
system (libelogind0 is an alternative to libsystemd0). Drops what every Debian has (priority
required or important).
"""

from __future__ import annotations

import subprocess
import sys


def depends(names: list[str]) -> list[str]:
    """The direct dependencies of `names`, first alternatives only."""
    out = subprocess.run(["apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances", *names],
                         capture_output=True, text=True, check=True).stdout
    found: list[str] = []
    in_group = False  # the line before was `|...`: this one is a later alternative
    virtual = False
    for line in out.splitlines():
        if not line.startswith(" "):
            in_group = virtual = False
            continue
        if line.startswith("    "):  # the providers of a virtual package
            if virtual:
                found.append(line.strip().split(":")[0])
                virtual = False
            continue
        alternative = line.lstrip().startswith("|")
        kind, _, name = line.strip().lstrip("|").partition(": ")
        take = kind in ("Depends", "PreDepends") and not in_group
        virtual = take and name.startswith("<")
        if take and not virtual:
            found.append(name.split(":")[0])
        in_group = alternative
    return found


def base(names: list[str]) -> set[str]:
    """Those of `names` every Debian has."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", *names], capture_output=True, text=True,
                         check=False).stdout
    result: set[str] = set()
    package = ""
    for line in out.splitlines():
        if line.startswith("Package: "):
            package = line.split()[1]
        elif line.startswith("Priority: ") and line.split()[1] in ("required", "important"):
            result.add(package)
    return result


def main(packages: list[str]) -> int:
    seen: set[str] = set()
    todo = packages
    while todo:
        todo = [name for name in dict.fromkeys(todo) if name not in seen]
        seen.update(todo)
        todo = depends(todo) if todo else []
    for name in sorted(seen - base(sorted(seen))):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
