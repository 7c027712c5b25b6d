"""Bundles in scripts/bundle.sh's layout holding a small stand-in for the station: a real wheel of
`returns-station` whose `station` answers `migrate --check` as told (pass, or fail on purpose)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

_STAND_IN = '''import sys

def main():
    args = sys.argv[1:]
    if "migrate" in args:
        if {fail!r}:
            print("station migrate: migration to schema v99 failed (on purpose); the database is still "
                  "at v4", file=sys.stderr)
            return 1
        print("station migrate: passes on a copy")
        return 0
    print("station {version}")
    return 0
'''


def _wheel(version: str, fail: bool) -> tuple[str, bytes]:
    """A real wheel of `returns-station` `version`, its `station` script the stand-in above."""
    name = f"returns_station-{version}"
    files = {
        "station_stand_in.py": _STAND_IN.format(fail=fail, version=version).encode(),
        f"{name}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: returns-station\nVersion: {version}\n".encode(),
        f"{name}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{name}.dist-info/entry_points.txt": b"[console_scripts]\nstation = station_stand_in:main\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}.dist-info/RECORD", "\n".join(record) + "\n")
    return f"{name}-py3-none-any.whl", buffer.getvalue()


def make_bundle(folder: Path, version: str, fail_migration: bool = False) -> Path:
    """A bundle in scripts/bundle.sh's layout."""
    wheel_name, wheel = _wheel(version, fail_migration)
    path = folder / f"returns-station-{version}.tar.gz"
    members = {
        "bundle/manifest.json": json.dumps({"format": "returns.bundle/1", "version": version}).encode(),
        "bundle/requirements.txt": f"returns-station=={version}\n".encode(),
        f"bundle/wheels/{wheel_name}": wheel,
        "bundle/config.toml": f"# every key of release {version}\n".encode(),
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
