"""`station central`: the reference central receiver (stores every station's verdicts once, acks them)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "central",
        help="run the reference central receiver: verdicts from all stations into SQLite, acknowledged",
        description="Subscribe to every station's verdicts (MQTT v5 shared subscription, so several "
                    "receivers split the load), validate them, store each verdict revision once in "
                    "SQLite and acknowledge it to its station.",
    )
    parser.add_argument("--broker", default=None,
                        help="broker URL, e.g. mqtt://127.0.0.1:1883 or mqtts://central@host:8883 (user name "
                             "only: a password on the command line is visible to every user in `ps`)")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="file holding the broker password (first line); else STATION_MQTT_PASSWORD or "
                             "CENTRAL_MQTT_PASSWORD from the environment")
    parser.add_argument("--db", default=None,
                        help="SQLite file to store verdicts in, or a postgresql://user:pass@host/db URL")
    parser.add_argument("--images-dir", type=Path, default=None,
                        help="folder for the stations' evidence pictures with a SQLite db "
                             "(default: <db name>-images beside it)")
    parser.add_argument("--topic", default="returns/v1/+/+/verdict", help="verdict topic filter")
    parser.add_argument("--group", default="central",
                        help="shared-subscription group; receivers in one group split the load ('' = none)")
    parser.add_argument("--client-id", default=None, help="MQTT client id (default: stable per host + db)")
    parser.add_argument("--ca", type=Path, default=None, help="CA certificate (PEM) for mqtts://")
    parser.add_argument("--cert", type=Path, default=None, help="client certificate (PEM) for mqtts://")
    parser.add_argument("--key", type=Path, default=None, help="client key (PEM) for mqtts://")
    parser.add_argument("--stats-interval", type=float, default=5.0, help="seconds between stats lines")
    parser.add_argument("--json", action="store_true", help="stats as one JSON object per line on stdout")
    parser.set_defaults(handler=run, log_to_file=True)
    from station.commands import central_image

    central_image.register(parser.add_subparsers(dest="central_command", metavar="{image}"))


def _password(password_file: Path | None) -> str:
    """The broker password: the file's first line, else the environment, else none."""
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return os.environ.get("CENTRAL_MQTT_PASSWORD") or os.environ.get("STATION_MQTT_PASSWORD") or ""


def run(args: argparse.Namespace, config: Config) -> int:
    from sync.central import CentralReceiver
    from sync.mqtt import BrokerAddress

    if not args.broker or not args.db:
        print("station central: --broker and --db are required (or `station central image ...`)")
        return 2
    try:
        address = BrokerAddress.parse(args.broker, ca_file=args.ca, cert_file=args.cert, key_file=args.key)
    except ValueError as exc:
        print(f"station central: {exc}")
        return 2
    if address.password:
        print("station central: --broker carries a password, which every user of this computer can read "
              "in the process list (ps) — remove it from the URL and put it in the environment "
              "(STATION_MQTT_PASSWORD) or in a file readable by you only, given with --password-file FILE")
        return 2
    try:
        password = _password(args.password_file)
    except OSError as exc:
        print(f"station central: cannot read the password file {args.password_file}: {exc.strerror or exc} "
              "— check the path and that this user may read it")
        return 2
    username = address.username or os.environ.get("CENTRAL_MQTT_USERNAME") or ""
    if username or password:
        address = BrokerAddress(**{**asdict(address), "username": username, "password": password})
    receiver = CentralReceiver(address, args.db, topic=args.topic, group=args.group, client_id=args.client_id,
                               images_dir=args.images_dir)
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    # Set explicitly: a process started in the background by a non-interactive shell inherits
    # SIGINT ignored, and Python then raises no KeyboardInterrupt for it.
    signal.signal(signal.SIGINT, _stop)
    try:
        receiver.start()
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"station central: {exc}")
        return 1

    def _report(final: bool = False) -> None:
        stats = {**asdict(receiver.stats()), "final": final}
        if args.json:
            print(json.dumps(stats), flush=True)
        else:
            print(f"central: received {stats['received']} stored {stats['stored']} duplicates "
                  f"{stats['duplicates']} invalid {stats['invalid']} acked {stats['acked']} "
                  f"({'connected' if stats['connected'] else 'disconnected'})", flush=True)

    try:
        while not done.wait(args.stats_interval):
            _report()
    except KeyboardInterrupt:
        logger.info("central: Ctrl-C")
    receiver.stop()
    _report(final=True)
    return 0
