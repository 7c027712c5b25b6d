#!/usr/bin/env bash
# The dock PC's installation, called by scripts/setup.sh (install, uninstall, run --offline).
#
#   install [--kiosk [tty|lightdm]] [--offline BUNDLE]   (from an unpacked bundle's scripts/: that bundle)
#       a `station` system user (groups dialout, video, plugdev for the conveyor's serial port,
#       cameras and scanner), the data folder, a config file if there is none, the first release
#       (a venv under $STATION_HOME/releases, `current` pointing at it: `station upgrade` adds the
#       next ones beside it), `station` on the PATH, and the systemd units, enabled:
#       - headless (default): returns-station.service (Type=notify, watchdog, restart on failure);
#       - --kiosk tty: autologin on tty1, X started from the login, the window full screen;
#       - --kiosk lightdm: LightDM logs the user in and the session autostarts the window.
#       The kiosk and the headless service share the data folder, so only one of them is enabled.
#   uninstall
#       disables and removes the units and the kiosk's files; the releases, the data folder, the
#       config and the user stay (the verdicts are never removed by an uninstall).
#   run-offline BUNDLE [station run options]
#       `scripts/setup.sh run` from a bundle: dpkg -i of the missing .deb files, .venv from the
#       bundle's wheels only (pip --no-index), then `station run`.
#
# DESTDIR puts every file under another root (a test; not an image: its venv would name the DESTDIR
# path — run install inside the image's chroot instead): then no user is
# created, nothing is chowned and systemctl is not called; what would run is printed instead.
# STATION_UNIT_DIR and STATION_BIN_DIR move the units and `station` (/etc/systemd/system, /usr/local/bin).
set -euo pipefail

mode="${1:-}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
destdir="${DESTDIR:-}"
home="${STATION_HOME:-/opt/returns-station}"
user="${STATION_USER:-station}"
data="${STATION_DATA:-/var/lib/returns-station}"
confdir="${STATION_CONFIG_DIR:-/etc/returns-station}"
config="$confdir/config.toml"
# Secrets (broker password, supervisor PIN) as environment variables, for the service only.
environment="$confdir/environment"
unitdir="${STATION_UNIT_DIR:-/etc/systemd/system}"
bindir="${STATION_BIN_DIR:-/usr/local/bin}"
user_home="${STATION_USER_HOME:-/home/$user}"
python="${PYTHON:-python3}"

sudo_cmd=()
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

# A system command; under DESTDIR only said, not done.
system() {
  if [ -n "$destdir" ]; then echo "setup: would run: $*"; else "${sudo_cmd[@]}" "$@"; fi
}

# systemctl needs a running systemd (PID 1), which a container or a chroot has not: say so, not
# systemctl's "Failed to connect to bus". Under DESTDIR nothing is run, so nothing is missing.
systemd_missing() {
  [ -z "$destdir" ] && [ ! -d /run/systemd/system ]
}

# A template of scripts/systemd with this PC's paths filled in, written to DESTDIR + target.
write_template() {
  local name="$1" target="$2" mode_bits="${3:-0644}"
  mkdir -p "$destdir$(dirname "$target")"
  sed -e "s|@HOME@|$home|g" -e "s|@USER@|$user|g" -e "s|@CONFIG@|$config|g" -e "s|@DATA@|$data|g" \
    -e "s|@ENVIRONMENT@|$environment|g" \
    "$root/scripts/systemd/$name" > "$destdir$target.tmp"
  chmod "$mode_bits" "$destdir$target.tmp"
  mv "$destdir$target.tmp" "$destdir$target"
  echo "setup: wrote $target"
}

# Unpack a bundle of scripts/bundle.sh into a temporary folder; prints the folder.
unpack_bundle() {
  local bundle="$1" into
  [ -f "$bundle" ] || { echo "setup: no bundle at $bundle" >&2; exit 2; }
  into="$(mktemp -d)"
  tar -xzf "$bundle" -C "$into"
  [ -f "$into/bundle/manifest.json" ] || { echo "setup: $bundle is not a station bundle (no manifest.json)" >&2; exit 2; }
  echo "$into/bundle"
}

# The bundle's wheels are built for one Python and platform: refuse another before pip fails on them.
check_bundle_platform() {
  "$python" - "$1/manifest.json" <<'EOF' || exit 2
import json, sys, sysconfig
manifest = json.load(open(sys.argv[1], encoding="utf-8"))
here = (f"{sys.version_info[0]}.{sys.version_info[1]}", sysconfig.get_platform().replace("-", "_"))
wanted = (".".join(str(manifest.get("python", here[0])).split(".")[:2]), str(manifest.get("platform", here[1])))
if wanted != here:
    sys.exit(f"setup: the bundle is built for Python {wanted[0]} on {wanted[1]}, this PC's {sys.executable} is "
             f"Python {here[0]} on {here[1]}: its wheels would not install — build the bundle (scripts/bundle.sh) "
             "on a machine of the dock PC's system (docs/deployment.md, Offline install); nothing was installed")
EOF
}

# The bundle's .deb files the PC lacks, installed with dpkg (no apt, no network).
install_debs() {
  local dir="$1" deb pkg missing=()
  [ -d "$dir/debs" ] || return 0
  for deb in "$dir"/debs/*.deb; do
    [ -e "$deb" ] || continue
    pkg="$(dpkg-deb -f "$deb" Package)"
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${#missing[@]} system package(s) from the bundle"
    system dpkg -i "${missing[@]}"
  fi
}

# A venv at $1 with the station from the bundle's wheels only.
venv_from_bundle() {
  local venv="$1" dir="$2"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  PIP_NO_INDEX=1 "$venv/bin/pip" install -q --no-index --find-links "$dir/wheels" --upgrade pip
  PIP_NO_INDEX=1 "$venv/bin/pip" install -q --no-index --find-links "$dir/wheels" \
    -r "$dir/requirements.txt"
}

case "$mode" in
  run-offline)
    bundle="$1"; shift
    dir="$(unpack_bundle "$bundle")"
    trap 'rm -rf "$(dirname "$dir")"' EXIT
    check_bundle_platform "$dir"
    install_debs "$dir"
    cd "$root"
    stamp=".venv/.installed-bundle-$(sha256sum "$bundle" | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
      echo "setup: installing the station into .venv from $bundle (no network)"
      venv_from_bundle .venv "$dir"
      touch "$stamp"
    fi
    rm -rf "$(dirname "$dir")"
    trap - EXIT
    exec .venv/bin/station run "$@"
    ;;

  install)
    kiosk=""
    bundle=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --kiosk)
          kiosk=tty
          if [ "${2:-}" = tty ] || [ "${2:-}" = lightdm ]; then kiosk="$2"; shift; fi ;;
        --offline) bundle="${2:?--offline needs a bundle}"; shift ;;
        *) echo "usage: scripts/setup.sh install [--kiosk [tty|lightdm]] [--offline BUNDLE]" >&2; exit 2 ;;
      esac
      shift
    done

    # Run from an unpacked bundle (bundle/scripts/setup.sh install): install that bundle, as --offline would.
    unpacked=""
    if [ -z "$bundle" ] && [ -f "$root/manifest.json" ] && [ ! -f "$root/pyproject.toml" ]; then
      unpacked="$root"
    fi

    # The user, its groups, the folders.
    if [ -z "$destdir" ] && ! id "$user" >/dev/null 2>&1; then
      system useradd --system --create-home --home-dir "$user_home" --shell /bin/bash \
        --groups dialout,video,plugdev "$user"
    elif [ -n "$destdir" ]; then
      system useradd --system --create-home --home-dir "$user_home" --shell /bin/bash \
        --groups dialout,video,plugdev "$user"
    fi
    mkdir -p "$destdir$data" "$destdir$confdir" "$destdir$home/releases" "$destdir$user_home"
    if [ ! -f "$destdir$config" ]; then
      # The embedded defaults with this PC's data folder; `station doctor` says what to set next.
      printf '# The dock PC'"'"'s settings: config.reference.toml beside it describes every key.\n[station]\ndata_dir = "%s"\n' \
        "$data" > "$destdir$config"
      echo "setup: wrote $config"
    fi
    if [ ! -f "$destdir$environment" ]; then
      printf '%s\n' \
        "# Secrets of the station service (systemd EnvironmentFile, read at each start): kept out of" \
        "# config.toml, readable by root and the station's group only. Uncomment and fill in:" \
        "#STATION_MQTT_USERNAME=<site>/<station>" \
        "#STATION_MQTT_PASSWORD=" \
        "#STATION_SUPERVISOR_PIN=" > "$destdir$environment"
      chmod 0640 "$destdir$environment"
      echo "setup: wrote $environment"
    fi

    # The first release, unless one is installed (then `station upgrade` brings the next).
    if [ ! -e "$destdir$home/current" ]; then
      if [ -n "$bundle" ] || [ -n "$unpacked" ]; then
        if [ -n "$unpacked" ]; then
          dir="$unpacked"
        else
          dir="$(unpack_bundle "$bundle")"
          trap 'rm -rf "$(dirname "$dir")"' EXIT
        fi
        check_bundle_platform "$dir"
        install_debs "$dir"
        version="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dir/manifest.json")"
        venv_from_bundle "$destdir$home/releases/$version" "$dir"
        if [ -f "$dir/config.toml" ]; then cp "$dir/config.toml" "$destdir$confdir/config.reference.toml"; fi
        if [ -z "$unpacked" ]; then
          rm -rf "$(dirname "$dir")"
          trap - EXIT
        fi
      else
        version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)"
        "$python" -m venv "$destdir$home/releases/$version"
        "$destdir$home/releases/$version/bin/pip" install -q "$root"
      fi
      ln -sfn "releases/$version" "$destdir$home/current"
      echo "setup: installed release $version in $home/releases/$version"
    fi
    if [ -z "$bundle" ]; then cp "$root/config.toml" "$destdir$confdir/config.reference.toml"; fi
    # `station` on the PATH: the current release on this PC's config (unless --config or STATION_CONFIG
    # says otherwise), so `station backup`, `restore`, `upgrade` and `doctor` typed in any folder, or
    # under sudo, act on the dock's data folder, not on ./config.toml or the embedded demo line.
    mkdir -p "$destdir$bindir"
    printf '%s\n' '#!/bin/sh' \
      "# Written by scripts/setup.sh install: the station's current release, on this PC's config." \
      "STATION_CONFIG=\"\${STATION_CONFIG:-$config}\"" 'export STATION_CONFIG' \
      "exec '$home/current/bin/station' \"\$@\"" > "$destdir$bindir/station.tmp"
    chmod 0755 "$destdir$bindir/station.tmp"
    # A rename, not a write through: an earlier install left a symlink to the release's own script there.
    mv -f "$destdir$bindir/station.tmp" "$destdir$bindir/station"
    # The units.
    write_template returns-station.service "$unitdir/returns-station.service"
    case "$kiosk" in
      tty)
        write_template getty-autologin.conf "$unitdir/getty@tty1.service.d/returns-station-autologin.conf"
        write_template kiosk-profile.sh "$user_home/.bash_profile"
        write_template kiosk-xinitrc "$user_home/.xinitrc" 0755
        ;;
      lightdm)
        write_template lightdm-autologin.conf "/etc/lightdm/lightdm.conf.d/50-returns-station.conf"
        write_template returns-station.desktop "$user_home/.config/autostart/returns-station.desktop"
        ;;
    esac
    # Last, so the kiosk's files in the user's home are the user's too.
    system chown -R "$user:$user" "$data" "$user_home"
    system chmod 0750 "$data"
    # The station writes its config folder: accepted thresholds (a backup beside the file first),
    # calibration. Root owns it, the station's group may write it, nobody else reads it (secrets);
    # setgid, so what the station writes there stays in the group.
    system chown -R "root:$user" "$confdir"
    system chmod 2770 "$confdir"
    system chmod -R g+rw,o-rwx "$confdir"
    system chmod 0640 "$environment"
    if systemd_missing; then
      echo "setup: installed, but systemd is not running on this PC (it is not PID 1: a container or a" \
        "chroot?), so $unitdir/returns-station.service is written and neither enabled nor started." \
        "On the dock PC: systemctl daemon-reload, then systemctl enable --now returns-station" \
        "(with --kiosk: reboot). Here, run the station by hand: station run --headless" >&2
      exit 1
    fi
    system systemctl daemon-reload
    if [ -z "$kiosk" ]; then
      system systemctl enable --now returns-station.service
    else
      # The window is the station on this PC: the headless one would hold the same data folder.
      system systemctl disable --now returns-station.service
      echo "setup: the kiosk starts on the next boot (or: systemctl restart getty@tty1 / lightdm)"
    fi
    ;;

  uninstall)
    if systemd_missing; then
      echo "setup: systemd is not running on this PC (it is not PID 1): no unit to stop; removing the files"
    else
      system systemctl disable --now returns-station.service || true
    fi
    for file in "$unitdir/returns-station.service" \
                "$unitdir/getty@tty1.service.d/returns-station-autologin.conf" \
                "/etc/lightdm/lightdm.conf.d/50-returns-station.conf" \
                "$user_home/.config/autostart/returns-station.desktop" \
                "$user_home/.xinitrc" "$user_home/.bash_profile" "$bindir/station"; do
      if [ -e "$destdir$file" ] || [ -L "$destdir$file" ]; then
        rm -f "$destdir$file"
        echo "setup: removed $file"
      fi
    done
    rmdir "$destdir$unitdir/getty@tty1.service.d" 2>/dev/null || true
    systemd_missing || system systemctl daemon-reload
    echo "setup: kept $home (releases), $data (the verdicts), $config and the user $user"
    ;;

  *) echo "usage: scripts/service.sh install|uninstall|run-offline" >&2; exit 2 ;;
esac
