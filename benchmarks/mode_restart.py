"""How long does a switch of mode keep the line down? `station run` with its window (offscreen), driven
as the operator does it (tests/ui/restart_driver.py: sign in, F3, the other mode, Switch mode, Enter on
"Restart now"), with systemd's notify socket in place.

    .venv/bin/python benchmarks/mode_restart.py [--reps 3]

"down" = from RELOADING (the window is closed, the station about to stop) to the next READY (the
station started again on the saved file, its line running): the time the dock has no station. It
includes stopping the first run (the items on the belt settled, the record closed). "items" = items
the first run decided, "unrecorded" = of those without a record (must be 0). Medians over --reps.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "ui" / "restart_driver.py"


def one_switch(start_mode: str, target: str) -> dict[str, float]:
    """One run of the driver from `start_mode` to `target`: seconds down, items and unrecorded."""
    with tempfile.TemporaryDirectory(prefix="restart-") as folder:
        work = Path(folder)
        config = work / "config.toml"
        config.write_text(f'[station]\ndata_dir = "data"\nmode = "{start_mode}"\n[sync]\nbroker = ""\n',
                          encoding="utf-8")
        address = str(work / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(address)
        sock.settimeout(0.5)
        heard: list[tuple[float, str]] = []
        done = threading.Event()

        def listen() -> None:
            while not done.is_set():
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                heard.append((time.monotonic(), data.decode()))

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NOTIFY_SOCKET": address,
               "PYTHONPATH": str(ROOT)}
        env.pop("DISPLAY", None)
        try:
            proc = subprocess.run([sys.executable, str(DRIVER), str(work / "data" / "station.db"), target,
                                   "--config", str(config), "run", "--rate", "5"],
                                  cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
        finally:
            done.set()
            listener.join()
            sock.close()
        if proc.returncode != 0 or f"window 2 mode {target} operator op-7\n" not in proc.stdout:
            raise SystemExit(f"the switch to {target} failed:\n{proc.stderr[-3000:]}")
        reloading = next(t for t, text in heard if text.startswith("RELOADING"))
        ready = next(t for t, text in heard if text.startswith("READY") and t > reloading)
        first = json.loads(proc.stderr.split("station stopped: ", 1)[1].splitlines()[0])
        return {"down_s": ready - reloading, "items": first["items"], "unrecorded": first["unrecorded"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print("| switch | runs | down (median, min-max) | items before | unrecorded |")
    print("|---|---|---|---|---|")
    for start, target in (("conveyor", "bench"), ("bench", "conveyor")):
        runs = [one_switch(start, target) for _ in range(args.reps)]
        down = [r["down_s"] for r in runs]
        print(f"| {start} -> {target} | {len(runs)} | {statistics.median(down):.2f} s "
              f"({min(down):.2f}-{max(down):.2f}) | {statistics.median(r['items'] for r in runs):.0f} | "
              f"{sum(r['unrecorded'] for r in runs):.0f} |", flush=True)


if __name__ == "__main__":
    main()
