#!/usr/bin/env bash
# Set up the station on a Debian machine and run it, or run the whole test suite.
#
#   scripts/setup.sh run [station run options]   system packages, .venv, the station; then `station run`
#   scripts/setup.sh test [pytest options]       the same plus the train and dev extras; then
#                                                ruff, mypy, the layering contract and pytest
#   scripts/setup.sh run --offline BUNDLE [...]  `run` from a bundle of scripts/bundle.sh, with no network
#   scripts/setup.sh install [--kiosk [tty|lightdm]] [--offline BUNDLE]
#                                                the dock PC: a station user, data and config folders,
#                                                a release in /opt/returns-station, the systemd units
#   scripts/setup.sh uninstall                   the units and kiosk files go; releases, data, config stay
#
# Idempotent: apt is only asked for packages that are missing, pip only when
# pyproject.toml changed since the last install.
set -euo pipefail

mode="${1:-}"
shift || true
case "$mode" in
  run|test) ;;
  install|uninstall) exec bash "$(dirname "${BASH_SOURCE[0]}")/service.sh" "$mode" "$@" ;;
  *) echo "usage: scripts/setup.sh run|test|install|uninstall [options]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "$mode" = run ] && [ "${1:-}" = --offline ]; then
  [ -n "${2:-}" ] || { echo "usage: scripts/setup.sh run --offline BUNDLE [station run options]" >&2; exit 2; }
  bundle="$2"
  shift 2
  exec bash "$root/scripts/service.sh" run-offline "$bundle" "$@"
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

# System packages: zbar for pyzbar, mosquitto for the local broker, the libraries Qt
# needs for a window (xcb) and offscreen rendering, xvfb for screenshots on a headless PC,
# alsa-utils' aplay for the operator's alert tone (station/alert_sound.py).
apt_packages=(libzbar0 mosquitto libgl1 libglib2.0-0 libegl1 libfontconfig1 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-shape0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 xvfb python3-venv alsa-utils)
if [ "$mode" = test ]; then
  # GigE Vision (the gige extra, part of dev): Aravis' typelib, its fake camera that
  # tests/vision/test_camera_aravis.py streams from, and what pip builds PyGObject with.
  # Test mode only: `run` stays lean; docs/cameras.md says what a GigE station installs.
  apt_packages+=(gir1.2-aravis-0.8 aravis-tools libgirepository1.0-dev libcairo2-dev pkg-config gcc
    python3-dev)
  # IP cameras: the tests serve a local RTSP / HTTP MJPEG stream with ffmpeg; the station
  # itself reads streams through OpenCV's own FFmpeg and needs no ffmpeg installed.
  apt_packages+=(ffmpeg)
  # The fleet tests start a throwaway PostgreSQL cluster (initdb / pg_ctl) for central's
  # receivers; psycopg[binary] comes with the dev extra.
  apt_packages+=(postgresql)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi

extras="."
[ "$mode" = test ] && extras=".[train,dev]"
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${mode}"
if [ ! -f "$stamp" ] && { [ "$mode" = test ] || [ ! -f ".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-test" ]; }; then
  echo "setup: installing the station into .venv ($extras)"
  .venv/bin/pip install -q -e "$extras"
  touch "$stamp"
fi

if [ "$mode" = run ]; then
  exec .venv/bin/station run "$@"
fi

export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
# Everything the tests need is installed above: tests/conftest.py then fails the run when any of it
# is missing instead of skipping its tests.
export STATION_TEST_COMPLETE=1
status=0
echo "== ruff"; .venv/bin/ruff check . || status=1
echo "== mypy"; .venv/bin/mypy || status=1
echo "== layering contract"; .venv/bin/lint-imports || status=1
echo "== pytest"
set +e
.venv/bin/pytest --durations=15 "$@"
rc=$?
set -e
# pytest exits 5 when it collected nothing: that is a failure of the suite, not a pass.
if [ $rc -ne 0 ]; then status=1; fi
exit $status
