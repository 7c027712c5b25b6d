"""`scripts/setup.sh install` and `uninstall` into a temporary root (DESTDIR): the units and kiosk
files it writes, with this PC's paths; and the units checked by systemd itself when it runs here."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.station.service_bundles import make_bundle

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup.sh"
UNIT = "etc/systemd/system/returns-station.service"
HOME = "/opt/returns-station"


def _setup(destdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(destdir)}
    return subprocess.run(["bash", str(SETUP), *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def destdir(tmp_path: Path) -> Path:
    """A root with a release already installed: install keeps it (`station upgrade` brings the next)."""
    root = tmp_path / "root"
    release = root / HOME.lstrip("/") / "releases" / "0.1.0"
    (release / "bin").mkdir(parents=True)
    (release / "bin" / "station").write_text("#!/bin/sh\n", encoding="utf-8")
    (root / HOME.lstrip("/") / "current").symlink_to("releases/0.1.0")
    return root


def _unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_install_headless_writes_the_service_and_enables_it(destdir: Path) -> None:
    result = _setup(destdir, "install")
    assert result.returncode == 0, result.stderr
    unit = _unit_settings(destdir / UNIT)
    assert unit["Type"] == ["notify"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["WatchdogSec"] == ["30"]
    assert unit["ExecStart"] == [f"{HOME}/current/bin/station --config /etc/returns-station/config.toml "
                                 "run --headless"]
    assert unit["User"] == ["station"]
    assert unit["StandardError"] == ["journal"]
    assert unit["WantedBy"] == ["multi-user.target"]
    assert "@" not in (destdir / UNIT).read_text(encoding="utf-8").replace("tty1", "")  # every @X@ filled
    config = (destdir / "etc/returns-station/config.toml").read_text(encoding="utf-8")
    assert 'data_dir = "/var/lib/returns-station"' in config
    assert "config.reference.toml" in config
    reference = destdir / "etc/returns-station/config.reference.toml"
    assert reference.read_bytes() == (ROOT / "config.toml").read_bytes()  # every key, described
    assert (destdir / "var/lib/returns-station").is_dir()
    # Secrets reach the service from a file only root and the station's group read.
    environment = destdir / "etc/returns-station/environment"
    assert unit["EnvironmentFile"] == ["-/etc/returns-station/environment"]
    assert stat.S_IMODE(environment.stat().st_mode) == 0o640
    assert "#STATION_MQTT_PASSWORD=" in environment.read_text(encoding="utf-8")
    # The station may write its config folder (thresholds from central, calibration), nobody else read it.
    assert "would run: chown -R root:station /etc/returns-station" in result.stdout
    assert "would run: chmod 2770 /etc/returns-station" in result.stdout
    assert f"exec '{HOME}/current/bin/station'" in (destdir / "usr/local/bin/station").read_text()
    assert "would run: useradd --system" in result.stdout
    assert "would run: systemctl enable --now returns-station.service" in result.stdout
    assert not (destdir / "etc/systemd/system/getty@tty1.service.d").exists()
    # The release that was there is kept, not reinstalled.
    assert os.readlink(destdir / HOME.lstrip("/") / "current") == "releases/0.1.0"


def test_install_kiosk_on_tty1_then_uninstall(destdir: Path) -> None:
    config = destdir / "etc/returns-station/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[station]\ndata_dir = "/srv/dock"\n', encoding="utf-8")
    result = _setup(destdir, "install", "--kiosk")
    assert result.returncode == 0, result.stderr
    assert config.read_text(encoding="utf-8") == '[station]\ndata_dir = "/srv/dock"\n'  # a PC's own: kept
    autologin = destdir / "etc/systemd/system/getty@tty1.service.d/returns-station-autologin.conf"
    assert "--autologin station" in autologin.read_text(encoding="utf-8")
    profile = (destdir / "home/station/.bash_profile").read_text(encoding="utf-8")
    assert "exec startx" in profile and "/dev/tty1" in profile
    xinitrc = destdir / "home/station/.xinitrc"
    assert os.access(xinitrc, os.X_OK)
    assert (f"{HOME}/current/bin/station --config /etc/returns-station/config.toml run --fullscreen"
            in xinitrc.read_text(encoding="utf-8"))
    assert "systemd-cat --identifier=returns-station" in xinitrc.read_text(encoding="utf-8")
    # One station per data folder: the kiosk's window, not the headless service as well.
    assert "would run: systemctl disable --now returns-station.service" in result.stdout
    assert (destdir / UNIT).is_file()

    result = _setup(destdir, "uninstall")
    assert result.returncode == 0, result.stderr
    for gone in (UNIT, "etc/systemd/system/getty@tty1.service.d", "home/station/.xinitrc",
                 "home/station/.bash_profile", "usr/local/bin/station"):
        assert not (destdir / gone).exists(), gone
    # The verdicts, the config and the releases stay.
    assert config.is_file()
    assert (destdir / HOME.lstrip("/") / "current/bin/station").is_file()
    assert "would run: systemctl disable --now returns-station.service" in result.stdout


def test_install_kiosk_under_lightdm(destdir: Path) -> None:
    result = _setup(destdir, "install", "--kiosk", "lightdm")
    assert result.returncode == 0, result.stderr
    lightdm = (destdir / "etc/lightdm/lightdm.conf.d/50-returns-station.conf").read_text(encoding="utf-8")
    assert "autologin-user=station" in lightdm
    desktop = (destdir / "home/station/.config/autostart/returns-station.desktop").read_text(encoding="utf-8")
    assert "run --fullscreen" in desktop
    assert _setup(destdir, "uninstall").returncode == 0
    assert not (destdir / "home/station/.config/autostart/returns-station.desktop").exists()
    assert not (destdir / "etc/lightdm/lightdm.conf.d/50-returns-station.conf").exists()


def test_setup_refuses_an_unknown_mode_and_option(destdir: Path) -> None:
    assert _setup(destdir, "deploy").returncode == 2
    assert _setup(destdir, "install", "--window").returncode == 2


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_parses_the_unit_without_a_complaint(destdir: Path) -> None:
    """systemd's own parser (`systemd-analyze verify`, no running systemd needed) on the written unit:
    it exits 0 even on an unknown key, so every line it says about the file is a failure."""
    assert _setup(destdir, "install").returncode == 0
    unit = destdir / UNIT
    # The release and the user exist on the dock PC, not here: the parser checks that both do.
    text = unit.read_text(encoding="utf-8").replace(f"{HOME}/current/bin/station", "/bin/true")
    unit.write_text(text.replace("=station\n", "=root\n"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert str(unit) not in result.stderr, result.stderr


@pytest.mark.skipif(not Path("/run/systemd/system").is_dir(),
                    reason="systemd is not PID 1 on this machine (a container): no systemd to start the unit")
def test_the_unit_runs_under_systemd(tmp_path: Path) -> None:
    """Under a real systemd: the headless station as a transient Type=notify unit with a watchdog
    reaches `active` (READY came), then stops cleanly."""
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[sync]\nbroker = ""\n', encoding="utf-8")
    station = ROOT / ".venv" / "bin" / "station"
    unit = f"returns-station-test-{os.getpid()}"
    command = ["systemd-run", "--user", "--unit", unit, "-p", "Type=notify", "-p", "WatchdogSec=30", "--wait",
               "--collect", str(station), "--config", str(config), "run", "--headless", "--items", "3",
               "--rate", "20"]
    started = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert started.returncode == 0, started.stderr


@pytest.mark.slow
def test_install_offline_makes_the_first_release_from_the_bundle_alone(tmp_path: Path) -> None:
    """`install --offline BUNDLE` with no package index, no pip config and a proxy that answers
    nothing: the first release is a venv of the bundle's wheels, `current` points at it."""
    root = tmp_path / "root"
    bundle = make_bundle(tmp_path, "0.2.0")
    env = {**os.environ, "DESTDIR": str(root), "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull,
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    env.pop("PIP_FIND_LINKS", None)
    result = subprocess.run(["bash", str(SETUP), "install", "--offline", str(bundle)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert "installed release 0.2.0" in result.stdout
    home = root / HOME.lstrip("/")
    assert os.readlink(home / "current") == "releases/0.2.0"
    said = subprocess.run([str(home / "current" / "bin" / "station")], capture_output=True, text=True,
                          check=True)
    assert said.stdout == "station 0.2.0\n"
    assert (root / UNIT).is_file()
    # The bundle's annotated config, beside the PC's own (which names it).
    reference = root / "etc/returns-station/config.reference.toml"
    assert reference.read_text(encoding="utf-8") == "# every key of release 0.2.0\n"


def test_station_on_the_path_runs_the_current_release_on_this_pcs_config(destdir: Path) -> None:
    """`station backup` / `restore` / `upgrade` as the docs write them, typed in any folder or under
    sudo, act on /etc/returns-station/config.toml, not on ./config.toml or the embedded demo line."""
    (destdir / "usr/local/bin").mkdir(parents=True)
    release = destdir / HOME.lstrip("/") / "releases" / "0.1.0" / "bin" / "station"
    release.write_text('#!/bin/sh\necho "config=$STATION_CONFIG args=$*"\n', encoding="utf-8")
    release.chmod(0o755)
    # An earlier install's symlink to the release's script: replaced, not written through.
    (destdir / "usr/local/bin/station").symlink_to(release)
    assert _setup(destdir, "install").returncode == 0
    on_path = destdir / "usr/local/bin/station"
    assert not on_path.is_symlink() and os.access(on_path, os.X_OK)
    assert release.read_text(encoding="utf-8").startswith('#!/bin/sh\necho "config=')
    # Run here, the wrapper's release is the one under DESTDIR.
    wrapper = on_path.read_text(encoding="utf-8").replace(HOME, str(destdir / HOME.lstrip("/")))
    (destdir / "station").write_text(wrapper, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "STATION_CONFIG"}

    def said(*args: str, **extra: str) -> str:
        return subprocess.run(["sh", str(destdir / "station"), *args], env={**env, **extra},
                              capture_output=True, text=True, check=True).stdout

    assert said("backup", "--out", "my file.tar.gz") == ("config=/etc/returns-station/config.toml "
                                                         "args=backup --out my file.tar.gz\n")
    assert said("doctor", STATION_CONFIG="/srv/other.toml") == "config=/srv/other.toml args=doctor\n"


@pytest.mark.slow
def test_install_from_an_unpacked_bundles_scripts_installs_that_bundle(tmp_path: Path) -> None:
    """On the dock, `tar -xzf BUNDLE` then `bundle/scripts/setup.sh install`: the unpacked bundle is the
    release's source (there is no pyproject.toml to install from), with no --offline to repeat."""
    root = tmp_path / "root"
    with tarfile.open(make_bundle(tmp_path, "0.2.0")) as archive:
        archive.extractall(tmp_path / "usb", filter="data")
    unpacked = tmp_path / "usb" / "bundle"
    # As scripts/bundle.sh lays them.
    (unpacked / "scripts").mkdir()
    for name in ("setup.sh", "service.sh"):
        shutil.copy(ROOT / "scripts" / name, unpacked / "scripts" / name)
    shutil.copytree(ROOT / "scripts" / "systemd", unpacked / "scripts" / "systemd")
    env = {**os.environ, "DESTDIR": str(root), "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull}
    env.pop("PIP_FIND_LINKS", None)
    result = subprocess.run(["bash", str(unpacked / "scripts" / "setup.sh"), "install"], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert "installed release 0.2.0" in result.stdout
    home = root / HOME.lstrip("/")
    said = subprocess.run([str(home / "current" / "bin" / "station")], capture_output=True, text=True,
                          check=True)
    assert said.stdout == "station 0.2.0\n"
    assert (root / UNIT).is_file()
    assert unpacked.joinpath("manifest.json").is_file()  # the technician's unpacked copy is left as it was


@pytest.mark.skipif(Path("/run/systemd/system").is_dir() or not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root on a PC where systemd is not running (a container)")
def test_install_without_a_running_systemd_says_so_and_what_to_do(tmp_path: Path) -> None:
    """In a container systemctl can only fail ("Failed to connect to bus"): the install says that the
    units are written but not enabled, and how to enable them on the dock PC; uninstall still cleans up.
    Every place is under tmp_path and the user is root, so nothing of this PC is touched."""
    home = tmp_path / "opt"
    (home / "releases" / "0.1.0" / "bin").mkdir(parents=True)
    (home / "current").symlink_to("releases/0.1.0")
    env = {**os.environ, "STATION_HOME": str(home), "STATION_USER": "root",
           "STATION_DATA": str(tmp_path / "data"), "STATION_CONFIG_DIR": str(tmp_path / "etc"),
           "STATION_USER_HOME": str(tmp_path / "home"),
           "STATION_UNIT_DIR": str(tmp_path / "units"), "STATION_BIN_DIR": str(tmp_path / "bin")}
    env.pop("DESTDIR", None)

    def setup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SETUP), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    installed = setup("install")
    assert installed.returncode == 1
    assert "systemd is not running on this PC" in installed.stderr
    assert "systemctl enable --now returns-station" in installed.stderr
    assert "Failed to connect to bus" not in installed.stderr + installed.stdout
    assert (tmp_path / "units" / "returns-station.service").is_file()
    assert (tmp_path / "bin" / "station").is_file() and (tmp_path / "etc" / "config.toml").is_file()
    removed = setup("uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (tmp_path / "units" / "returns-station.service").exists()
    assert not (tmp_path / "bin" / "station").exists()
    assert (tmp_path / "etc" / "config.toml").is_file()  # the PC's config stays
