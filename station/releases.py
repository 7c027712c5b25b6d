"""Releases side by side: `station upgrade BUNDLE` and `station rollback`, never without a station.

    /opt/returns-station/
        releases/0.1.0/      a venv with that version (bin/station, the units' ExecStart)
        releases/0.2.0/
        current -> releases/0.2.0
        previous -> releases/0.1.0

An upgrade installs the bundle's wheels into a new venv beside the current one (pip with no
index: a dock PC has no internet), asks the *new* release to migrate a copy of the database
(`station migrate --check`), and only then switches `current` — one atomic rename of a
symlink. A bundle that does not install, or whose migration fails, leaves `current` where it
was and its half-made release removed: the running station never notices. The previous
release is kept for `station rollback`, which asks the old release's own check first: software
older than the database's schema refuses to open it, so the rollback says so instead of
switching to a station that would not start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_HOME", "KEEP_RELEASES", "ReleaseError", "Releases", "home_of_running_release"]

logger = logging.getLogger(__name__)

DEFAULT_HOME = Path("/opt/returns-station")
KEEP_RELEASES = 3  # the current one, the previous one, and one more to roll back through by hand


class ReleaseError(RuntimeError):
    """An upgrade or rollback that did not happen; the message says why and that nothing changed."""


def home_of_running_release() -> Path:
    """$STATION_HOME, else the folder whose releases/ holds the running venv, else /opt/returns-station."""
    if os.environ.get("STATION_HOME"):
        return Path(os.environ["STATION_HOME"])
    prefix = Path(sys.prefix)
    if prefix.parent.name == "releases":
        return prefix.parent.parent
    return DEFAULT_HOME


@dataclass(frozen=True)
class Switch:
    """What an upgrade or rollback did: from which release to which, and what the migration check said
    (which database it looked at: a check that found none is no check of the station's)."""

    before: str | None
    after: str
    checked: str = ""


class Releases:
    """The releases folder of one dock PC."""

    def __init__(self, home: Path, python: str | None = None) -> None:
        self.home = home
        self.folder = home / "releases"
        # The interpreter new venvs are made with: the base one under the running venv.
        self.python = python or getattr(sys, "_base_executable", None) or sys.executable

    def current(self) -> str | None:
        """The current release's name, None before the first install."""
        return self._target("current")

    def previous(self) -> str | None:
        """The release `rollback` goes back to."""
        return self._target("previous")

    def _target(self, link: str) -> str | None:
        path = self.home / link
        return Path(os.readlink(path)).name if path.is_symlink() else None

    def _point(self, link: str, release: str) -> None:
        """`link` -> releases/`release`, replaced atomically (a power cut leaves the old or the new)."""
        tmp = self.home / f".{link}.new"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(Path("releases") / release)
        os.replace(tmp, self.home / link)

    # -- upgrade ----------------------------------------------------------------------
    def upgrade(self, bundle: Path, config: Path | None) -> Switch:
        """Install `bundle` beside the current release, check its migration, switch; see the module doc."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            unpacking = tempfile.TemporaryDirectory(prefix="station-bundle-", dir=self.home)
        except OSError as exc:
            raise ReleaseError(f"cannot write in the releases' folder {self.home} ({exc.strerror or exc}) — "
                               "run the upgrade as the user that owns it (e.g. with sudo), or give --home a "
                               "writable folder; nothing changed") from None
        with unpacking as unpacked:
            content = self._unpack(bundle, Path(unpacked))
            self.folder.mkdir(exist_ok=True)
            manifest = json.loads((content / "manifest.json").read_text(encoding="utf-8"))
            version = str(manifest["version"])
            self._check_platform(manifest, bundle)
            current = self.current()
            if version == current:
                raise ReleaseError(f"release {version} is already the current one: nothing to do")
            release = self.folder / version
            if release.exists():  # a release left from before (rolled back from, or a failed try)
                shutil.rmtree(release)
            try:
                self._install(content, release)
                checked = self._check_migration(release, config)
            except ReleaseError:
                shutil.rmtree(release, ignore_errors=True)
                raise
        if current is not None:
            self._point("previous", current)
        self._point("current", version)
        logger.info("upgraded from %s to %s", current, version)
        self._prune()
        return Switch(current, version, checked)

    def _check_platform(self, manifest: dict[str, object], bundle: Path) -> None:
        """The bundle's wheels are built for one Python and platform: say so before pip fails on them."""
        if "python" not in manifest and "platform" not in manifest:
            return
        done = subprocess.run([self.python, "-c", "import sys, sysconfig; print(f'{sys.version_info[0]}."
                               "{sys.version_info[1]}', sysconfig.get_platform().replace('-', '_'))"],
                              capture_output=True, text=True, check=False)
        here_python, _, here_platform = done.stdout.strip().partition(" ")
        python = ".".join(str(manifest.get("python", here_python)).split(".")[:2])
        platform = str(manifest.get("platform", here_platform))
        if done.returncode == 0 and (python, platform) != (here_python, here_platform):
            raise ReleaseError(f"{bundle} is built for Python {python} on {platform}, this PC runs Python "
                               f"{here_python} on {here_platform}: its wheels would not install — build the "
                               "bundle (scripts/bundle.sh) on a machine of the dock PC's system; nothing "
                               "changed")

    @staticmethod
    def _unpack(bundle: Path, into: Path) -> Path:
        try:
            with tarfile.open(bundle, "r:gz") as archive:
                archive.extractall(into, filter="data")  # no paths outside, no devices
        except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:  # EOFError, zlib: a cut-off file
            raise ReleaseError(f"{bundle} cannot be read as a bundle ({exc}): copy it again (a cut-off or "
                               "damaged download?); nothing changed") from None
        content = into / "bundle"
        if not (content / "manifest.json").is_file() or not (content / "requirements.txt").is_file():
            raise ReleaseError(f"{bundle} is not a station bundle (no manifest.json); nothing changed")
        return content

    def _install(self, content: Path, release: Path) -> None:
        env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        steps = [
            [self.python, "-m", "venv", str(release)],
            [str(release / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links",
             str(content / "wheels"), "-r", str(content / "requirements.txt")],
        ]
        for step in steps:
            done = subprocess.run(step, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ReleaseError(f"the new release did not install ({' '.join(step[:3])}…: "
                                   f"{_last_line(done.stderr)}); the current release still runs, unchanged")

    @staticmethod
    def _check_migration(release: Path, config: Path | None) -> str:
        """`station migrate --check` of `release`; its answer (which database, which schema)."""
        command = [str(release / "bin" / "station")]
        if config is not None:
            command += ["--config", str(config)]
        command += ["migrate", "--check"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ReleaseError(f"release {release.name} cannot migrate this station's database: "
                               f"{_last_line(done.stderr or done.stdout)}. Nothing switched: the current "
                               "release still runs on the database as it was")
        return _last_line(done.stdout or done.stderr).removeprefix("station migrate: ")

    def _prune(self) -> None:
        keep = {self.current(), self.previous()}
        others = sorted((p for p in self.folder.iterdir() if p.is_dir() and p.name not in keep),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[max(KEEP_RELEASES - len(keep), 0):]:
            shutil.rmtree(old, ignore_errors=True)
            logger.info("removed the old release %s", old.name)

    # -- rollback ---------------------------------------------------------------------
    def rollback(self, config: Path | None) -> Switch:
        """Switch back to the previous release, if it can open the database as it is now."""
        current, previous = self.current(), self.previous()
        if previous is None or not (self.folder / previous).is_dir():
            raise ReleaseError("there is no previous release to go back to; nothing changed")
        checked = self._check_migration(self.folder / previous, config)
        self._point("current", previous)
        if current is not None:
            self._point("previous", current)
        logger.info("rolled back from %s to %s", current, previous)
        return Switch(current, previous, checked)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
