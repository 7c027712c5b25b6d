"""`station upgrade` and `station rollback` on a releases folder, with real bundles installed by pip with
no index: an upgrade switches and keeps the previous release, a rollback goes back, and a bundle whose
migration fails on purpose leaves the current release running. `station migrate --check` on a real
database: a copy is migrated, the database is not touched.

The bundles hold a small stand-in for the station (a wheel whose `station` answers `migrate --check`
as told), so an upgrade installs in seconds rather than the minutes of PySide6 and OpenCV; the real
bundle's offline install is measured in docs/deployment.md."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from station.cli import main
from station.releases import Releases
from station.store import Store
from station.store.schema import LATEST_VERSION
from tests.station.service_bundles import make_bundle

pytestmark = pytest.mark.slow


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No package index and a proxy that answers nothing: anything but the bundle fails."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONSTRAINT", "")
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")


def _says(station: Path) -> str:
    return subprocess.run([str(station)], capture_output=True, text=True, check=True).stdout


def _station(*args: str) -> int:
    return main(list(args))


def test_upgrade_rollback_and_a_failed_migration(tmp_path: Path, offline: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "opt"
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    releases = Releases(home)

    assert _station("upgrade", "--home", str(home), str(make_bundle(bundles, "0.1.0"))) == 0
    assert releases.current() == "0.1.0" and releases.previous() is None
    station = home / "current" / "bin" / "station"
    assert _says(station) == "station 0.1.0\n"

    assert _station("upgrade", "--home", str(home), str(make_bundle(bundles, "0.2.0"))) == 0
    assert "release 0.2.0 is now current (before: 0.1.0)" in capsys.readouterr().out
    assert (releases.current(), releases.previous()) == ("0.2.0", "0.1.0")
    assert _says(station) == "station 0.2.0\n"

    # A migration that fails on purpose: nothing switches, the half-made release is gone.
    failing = make_bundle(bundles, "0.3.0", fail_migration=True)
    assert _station("upgrade", "--home", str(home), str(failing)) == 1
    err = capsys.readouterr().err
    assert "cannot migrate this station's database" in err and "failed (on purpose)" in err
    assert "Nothing switched" in err
    assert (releases.current(), releases.previous()) == ("0.2.0", "0.1.0")
    assert not (home / "releases" / "0.3.0").exists()
    assert _says(station) == "station 0.2.0\n"

    assert _station("rollback", "--home", str(home)) == 0
    assert "release 0.1.0 is current again (was 0.2.0)" in capsys.readouterr().out
    assert (releases.current(), releases.previous()) == ("0.1.0", "0.2.0")
    assert _says(station) == "station 0.1.0\n"

    # The same release twice, and a broken archive: refused, nothing changed.
    assert _station("upgrade", "--home", str(home), str(make_bundle(bundles, "0.1.0"))) == 1
    broken = bundles / "broken.tar.gz"
    broken.write_bytes(b"not a bundle")
    assert _station("upgrade", "--home", str(home), str(broken)) == 1
    assert "cannot be read as a bundle" in capsys.readouterr().err
    assert releases.current() == "0.1.0"


def test_no_rollback_without_a_previous_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _station("rollback", "--home", str(tmp_path)) == 1
    assert "no previous release" in capsys.readouterr().err


def test_migrate_check_works_on_a_copy(tmp_path: Path, make_verdict: object) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{data}"\n', encoding="utf-8")
    db = data / "station.db"
    data.mkdir()
    store = Store(db, data / "images")
    store.close()
    conn = sqlite3.connect(db)
    # As a database of schema v3 would be: the last migration not yet applied.
    conn.execute("DELETE FROM schema_version WHERE version = ?", (LATEST_VERSION,))
    conn.commit()
    conn.close()
    before = db.read_bytes()
    command = [sys.executable, "-m", "station", "--config", str(config), "migrate", "--check"]
    out = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] and result["schema"] == LATEST_VERSION - 1 and result["migrated_to"] == LATEST_VERSION
    assert db.read_bytes() == before  # the database itself untouched
    assert not list(data.glob("*.bak"))

    # A database newer than this software: the check fails and says so.
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version(version, applied_ts) VALUES (?, 0)", (LATEST_VERSION + 5,))
    conn.commit()
    conn.close()
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "newer than this software" in out.stderr
