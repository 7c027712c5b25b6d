#!/usr/bin/env bash
# One archive to install or upgrade a dock PC with no internet at all.
#
#   scripts/bundle.sh [--out DIR] [--no-gige] [--no-debs] [--kiosk]
#
# Built on a machine with network, of the same platform as the dock PC (Debian 12, x86_64,
# Python 3.11): the station's wheel and every dependency's wheel for this platform (the gige
# extra's PyGObject built here when its build packages are installed, unless --no-gige), pip's
# own wheel, and the .deb files `scripts/setup.sh run` needs with those of their dependencies a
# minimal Debian lacks (`apt-get download`; --kiosk adds X and xinit for the kiosk). Then:
#
#   scripts/setup.sh run --offline BUNDLE        .venv from the bundle, dpkg -i, station run
#   scripts/setup.sh install --offline BUNDLE    the dock PC's first release and its units
#   station upgrade BUNDLE                       the next release beside the current one
#
# The archive holds bundle/manifest.json (version, python, platform, every file's sha256),
# bundle/requirements.txt, bundle/wheels/, bundle/debs/, bundle/scripts/ and the documentation
# (bundle/README.md, bundle/docs/, bundle/hardware/*.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/dist"
gige=auto
debs=yes
kiosk=no
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift ;;
    --no-gige) gige=no ;;
    --no-debs) debs=no ;;
    --kiosk) kiosk=yes ;;
    *) echo "usage: scripts/bundle.sh [--out DIR] [--no-gige] [--no-debs] [--kiosk]" >&2; exit 2 ;;
  esac
  shift
done
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "bundle: $("$python" --version) is not Python 3.11, the dock PC's" >&2; exit 2; }

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)"
platform="$("$python" -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_"))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dir="$work/bundle"
mkdir -p "$dir/wheels" "$dir/debs" "$dir/scripts"

# The gige extra needs PyGObject built against this Debian's gobject-introspection.
if [ "$gige" = auto ]; then
  if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null && command -v gcc >/dev/null; then
    gige=yes
  else
    gige=no
    echo "bundle: without the gige extra (apt: libgirepository1.0-dev libcairo2-dev pkg-config gcc python3-dev)"
  fi
fi
target="returns-station==$version"
spec="$root"
if [ "$gige" = yes ]; then target="returns-station[gige]==$version"; spec="$root[gige]"; fi

echo "bundle: wheels of the station $version and its dependencies"
# setuptools builds the station's wheel inside the source folder: what it leaves there goes after.
leftovers=()
for made in build returns_station.egg-info; do [ -e "$root/$made" ] || leftovers+=("$root/$made"); done
"$python" -m pip wheel -q --wheel-dir "$dir/wheels" "$spec"
if [ ${#leftovers[@]} -gt 0 ]; then rm -rf "${leftovers[@]}"; fi
"$python" -m pip download -q --only-binary=:all: --dest "$dir/wheels" pip setuptools wheel
echo "$target" > "$dir/requirements.txt"

if [ "$debs" = yes ]; then
  # The run mode's packages: the list of scripts/setup.sh, read from it so the two never differ.
  mapfile -t packages < <(sed -n '/^apt_packages=(/,/)/p' "$root/scripts/setup.sh" \
    | tr -d '()' | sed 's/apt_packages=//' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$')
  if [ "$kiosk" = yes ]; then packages+=(xserver-xorg-core xserver-xorg-input-libinput xinit x11-xserver-utils); fi
  [ "$gige" = yes ] && packages+=(gir1.2-aravis-0.8)
  # Their dependencies as apt would install them, less what every Debian has.
  mapfile -t wanted < <("$python" "$root/scripts/bundle_debs.py" "${packages[@]}")
  echo "bundle: ${#wanted[@]} .deb files (${#packages[@]} packages and their dependencies)"
  (cd "$dir/debs" && apt-get download -q=2 "${wanted[@]}")
fi

cp "$root/scripts/setup.sh" "$root/scripts/service.sh" "$dir/scripts/"
cp -r "$root/scripts/systemd" "$dir/scripts/"
# Every setting with its default and meaning: installed beside the dock PC's own config.
cp "$root/config.toml" "$dir/config.toml"
# The documentation the doctor's and the scripts' messages point to, for a dock without internet.
cp "$root/README.md" "$dir/"
cp -r "$root/docs" "$dir/docs"
mkdir -p "$dir/hardware"
cp "$root"/hardware/*.md "$dir/hardware/"

"$python" - "$dir" "$version" "$platform" "$gige" <<'EOF'
import datetime, hashlib, json, pathlib, platform, sys
folder, version, plat, gige = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "yes"
files = {str(p.relative_to(folder)): {"size": p.stat().st_size,
                                      "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
         for p in sorted(folder.rglob("*")) if p.is_file()}
manifest = {"format": "returns.bundle/1", "version": version, "python": platform.python_version(),
            "platform": plat, "gige": gige,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "files": files}
(folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
EOF

mkdir -p "$out"
archive="$out/returns-station-$version-py311-$platform.tar.gz"
tar -czf "$archive.part" -C "$work" bundle
mv "$archive.part" "$archive"
echo "bundle: $archive ($(du -h "$archive" | cut -f1), $(ls "$dir/wheels" | wc -l) wheels, $(ls "$dir/debs" | wc -l) .deb files)"
