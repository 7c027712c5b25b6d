"""`station upgrade` says what a technician needs before pip or the station does: a bundle built for
another Python or platform is refused with that reason (not pip's "no matching distribution"), and a
switch says what the migration check looked at — a check of no database (the upgrade run without the
station's config) is no check of the station's."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

from station.cli import main
from station.releases import ReleaseError, Releases
from tests.station.service_bundles import make_bundle

PROJECT = Path(__file__).resolve().parents[2]


def _with_manifest(bundle: Path, target: Path, **fields: str) -> Path:
    """A copy of `bundle` whose manifest.json has `fields` added (as scripts/bundle.sh writes them)."""
    with tarfile.open(bundle) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            extracted = src.extractfile(member)
            assert extracted is not None
            body = extracted.read()
            if member.name == "bundle/manifest.json":
                body = json.dumps({**json.loads(body), **fields}).encode()
            info = tarfile.TarInfo(member.name)
            info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    return target


def test_a_bundle_for_another_python_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    home = tmp_path / "opt"
    plain = make_bundle(tmp_path, "0.2.0")
    platform = sysconfig.get_platform().replace("-", "_")
    other = _with_manifest(plain, tmp_path / "other.tar.gz", python="3.9.2", platform=platform)
    refused = r"built for Python 3\.9 on .*, this PC runs Python 3\.\d+"
    with pytest.raises(ReleaseError, match=refused) as error:
        Releases(home, python=sys.executable).upgrade(other, None)
    assert "nothing changed" in str(error.value)
    assert not (home / "releases" / "0.2.0").exists() and Releases(home).current() is None
    arm = _with_manifest(plain, tmp_path / "arm.tar.gz", python=sys.version.split()[0],
                         platform="linux_aarch64")
    with pytest.raises(ReleaseError, match="on linux_aarch64"):
        Releases(home, python=sys.executable).upgrade(arm, None)


@pytest.mark.slow
def test_the_switch_says_which_database_the_migration_check_looked_at(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONSTRAINT", "")
    platform = sysconfig.get_platform().replace("-", "_")
    bundle = _with_manifest(make_bundle(tmp_path, "0.2.0"), tmp_path / "b.tar.gz",
                            python=sys.version.split()[0], platform=platform)
    assert main(["upgrade", "--home", str(tmp_path / "opt"), str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "release 0.2.0 is now current" in out
    assert "  its migration check: passes on a copy" in out  # the stand-in's answer, as the station's


def test_the_first_install_from_a_bundle_for_another_python_says_so(tmp_path: Path) -> None:
    """`scripts/setup.sh install --offline BUNDLE` refuses it too, before any venv or .deb file."""
    root = tmp_path / "root"
    platform = sysconfig.get_platform().replace("-", "_")
    other = _with_manifest(make_bundle(tmp_path, "0.2.0"), tmp_path / "other.tar.gz", python="3.9.2",
                           platform=platform)
    env = {**os.environ, "DESTDIR": str(root), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(PROJECT / "scripts" / "setup.sh"), "install", "--offline", str(other)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "the bundle is built for Python 3.9 on" in done.stderr and "nothing was installed" in done.stderr
    assert not (root / "opt" / "returns-station" / "releases" / "0.2.0").exists()
