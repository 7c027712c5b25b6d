"""`station version`: the software, library and model versions (also the UI's "about")."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata
from typing import Any

from station.config import Config

_LIBRARIES = ("numpy", "opencv-python-headless", "onnxruntime", "zxing-cpp", "pyzbar",
              "paho-mqtt", "sqlite-utils", "PySide6-Essentials", "pyserial")


def versions() -> dict[str, Any]:
    """The station's version and those of the libraries it runs on."""
    libs: dict[str, str] = {}
    for name in _LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = "not installed"
    return {
        "station": metadata.version("returns-station"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": libs,
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("version", help="print the software and library versions")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    info = versions()
    if args.json:
        print(json.dumps(info))
    else:
        print(f"station {info['station']} (Python {info['python']}, {info['platform']})")
        for name, version in info["libraries"].items():
            print(f"  {name:24} {version}")
    return 0
