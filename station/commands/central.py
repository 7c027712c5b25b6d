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

from station.commands._central_broker import broker_address, read_password
from station.config import Config

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "central",
        help="run the reference central receiver: verdicts from all stations into SQLite or PostgreSQL, "
             "acknowledged",
        description="Subscribe to every station's verdicts (MQTT v5 shared subscription, so several "
                    "receivers split the load), validate them, store each verdict revision once in "
                    "SQLite or PostgreSQL (--db) and acknowledge it to its station.",
    )
    parser.add_argument("--broker", default=None,
                        help="broker URL, e.g. mqtt://127.0.0.1:1883 or mqtts://central@host:8883 (user name "
                             "only: a password on the command line is visible to every user in `ps`)")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="file holding the broker password (first line); else STATION_MQTT_PASSWORD or "
                             "CENTRAL_MQTT_PASSWORD from the environment")
    parser.add_argument("--db", default=None,
                        help="SQLite file to store verdicts in, or a postgresql://user@host/db URL (the "
                             "password in ~/.pgpass or PGPASSWORD: one in the URL is visible to every user "
                             "in `ps`)")
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
    parser.add_argument("--metrics", default="", metavar="HOST:PORT",
                        help="serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 127.0.0.1:9109 "
                             "(docs/metrics.md; 0.0.0.0:9109 opens it to the whole network)")
    parser.set_defaults(handler=run, log_to_file=True)
    tools = parser.add_subparsers(dest="central_tool",
                                  metavar="{bridge-config,report,image,keygen,offer,model,config}")
    register_bridge_config(tools)
    register_report(tools)
    from station.commands import _central_image, _central_offer

    _central_image.register(tools)
    _central_offer.register(tools)


def _one_line(text: str) -> str:
    """A driver's message that spans lines (psycopg adds a hint on its own line) as one line."""
    return " ".join(text.split())


def _stats_line(stats: dict[str, object]) -> str:
    """The text stats line; while disconnected it says why (refused, unknown host, TLS, ...)."""
    if stats["connected"]:
        state = "connected"
    elif stats.get("last_error"):
        state = f"disconnected: {stats['last_error']}"
    else:
        state = "disconnected"
    if stats.get("database_error"):
        state += f"; database unreachable: {stats['database_error']}"
    return (f"central: received {stats['received']} stored {stats['stored']} duplicates "
            f"{stats['duplicates']} invalid {stats['invalid']} acked {stats['acked']} ({state})")


def run(args: argparse.Namespace, config: Config) -> int:
    from sync.central import CentralReceiver, hide_db_password
    from sync.central_evidence import ImagesDirError
    from sync.central_metrics import central_endpoint
    from sync.postgres import OlderLayoutError, is_database_url, mistyped_db_url

    if not args.broker or not args.db:  # not required by argparse: the tools below have their own
        print("station central: give --broker URL and --db FILE-or-URL to receive verdicts, or a tool: "
              "station central bridge-config ... | station central report --db ... | "
              "station central image --db ... | station central keygen --out ... | "
              "station central offer MODEL_DIR ... | "
              "station central model promote|drop|rollback NAME --key ... --stations ... | "
              "station central config NAME=VALUE ... --key ... --stations ...")
        return 2
    if (mistyped := mistyped_db_url(str(args.db))) is not None:
        print(f"station central: {mistyped}")
        return 2
    try:
        address = broker_address(args.broker, args.password_file, args.ca, args.cert, args.key)
    except ValueError as exc:
        print(f"station central: {exc}")
        return 2
    try:
        receiver = CentralReceiver(address, args.db, topic=args.topic, group=args.group,
                                   client_id=args.client_id, images_dir=args.images_dir)
    except ValueError as exc:
        print(f"station central: {exc}")
        return 2
    try:  # listening first: a port in use stops central before it takes any verdict
        metrics = central_endpoint(args.metrics, receiver.stats, receiver.meter)
    except (ValueError, OSError) as exc:
        print(f"station central: --metrics {args.metrics}: {exc}")
        return 2
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    # Set explicitly: a process started in the background by a non-interactive shell inherits
    # SIGINT ignored, and Python then raises no KeyboardInterrupt for it.
    signal.signal(signal.SIGINT, _stop)
    try:
        receiver.start()
    except (RuntimeError, OSError) as exc:  # the database, or the --ca / --cert / --key files
        if isinstance(exc, RuntimeError):
            text = _one_line(hide_db_password(str(exc), args.db)).removeprefix("central: ")
            if isinstance(exc.__cause__, (ImagesDirError, OlderLayoutError)):  # they say what to do
                print(f"station central: {text}")
                if metrics is not None:
                    metrics.stop()
                return 1
            fix = ("check --db (host, port, user, password, database name) and that the database server "
                   "is running") if is_database_url(str(args.db)) else (
                   "check that --db names a file in a folder that exists and this user may write")
            print(f"station central: {text} — {fix}")
        else:
            given = ", ".join(f"{option} {path}" for option, path in
                              (("--ca", args.ca), ("--cert", args.cert), ("--key", args.key)) if path)
            print(f"station central: cannot use the TLS files ({given or 'the system CA certificates'}): "
                  f"{_one_line(str(exc.__cause__ or exc))} — give readable PEM files, and with --cert the "
                  "key of that certificate in --key")
        if metrics is not None:
            metrics.stop()
        return 1 if isinstance(exc, RuntimeError) else 2

    def _report(final: bool = False) -> None:
        stats = {**asdict(receiver.stats()), "final": final}
        if args.json:
            print(json.dumps(stats), flush=True)
        else:
            print(_stats_line(stats), flush=True)

    try:
        while not done.wait(args.stats_interval):
            _report()
    except KeyboardInterrupt:
        logger.info("central: Ctrl-C")
    if metrics is not None:
        metrics.stop()
    receiver.stop()
    _report(final=True)
    return 0


def register_bridge_config(tools: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`station central bridge-config`: print a site broker's bridge to the central broker."""
    parser = tools.add_parser(
        "bridge-config",
        help="print the Mosquitto bridge sections that join a site broker to the central broker",
        description="Print the two `connection` sections for a site broker's mosquitto.conf (Mosquitto "
                    "2.0 or later): the site's topics returns/v1/<site>/... go to the central broker over "
                    "MQTT v5, which carries the pictures' user properties (verdicts, images, purge, status, "
                    "stats, replies), and come back from it over MQTT 3.1.1, whose session central keeps "
                    "while the site is down (acks, manifests, config, models, commands); QoS 1 "
                    "(docs/fleet.md).",
    )
    parser.add_argument("--site", required=True, help="the site's id, as the stations' [station].site")
    parser.add_argument("--central", required=True, metavar="HOST:PORT",
                        help="the central broker, e.g. central.example:8883")
    parser.add_argument("--username", default=None, help="the bridge's user name at the central broker")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="file holding the bridge's password (first line); it is written into the "
                             "section, so keep the output readable by the mosquitto user only")
    parser.add_argument("--ca", type=Path, default=None, help="CA of the central broker (PEM): TLS on")
    parser.add_argument("--cert", type=Path, default=None, help="the bridge's client certificate (PEM)")
    parser.add_argument("--key", type=Path, default=None, help="the bridge's client key (PEM)")
    parser.add_argument("--prefix", default="returns/v1/", help="topic prefix, as [sync].topic_prefix")
    parser.add_argument("--acl", action="store_true",
                        help="print the bridge's entry for the central broker's ACL file instead (needs "
                             "--username)")
    parser.add_argument("--output", type=Path, default=None,
                        help="write the section to this file (created 0600) instead of printing it")
    parser.set_defaults(handler=run_bridge_config, log_to_file=False)


def run_bridge_config(args: argparse.Namespace, config: Config) -> int:
    """Print or write the bridge section; 2 with the reason for a bad option."""
    from sync.bridge import BridgeSettings, bridge_acl, bridge_config

    host, _, port = str(args.central).rpartition(":")
    if not host or not port.isdigit():
        print(f"station central bridge-config: --central {args.central!r} must be HOST:PORT, "
              "e.g. central.example:8883")
        return 2
    try:
        password = read_password(args.password_file) if args.password_file is not None else None
        settings = BridgeSettings(site=args.site, central_host=host.strip("[]"), central_port=int(port),
                                  prefix=args.prefix, username=args.username, password=password,
                                  ca_file=args.ca, cert_file=args.cert, key_file=args.key)
        text = bridge_acl(settings) if args.acl else bridge_config(settings)
    except OSError as exc:
        print(f"station central bridge-config: cannot read {args.password_file}: {exc.strerror or exc}")
        return 2
    except ValueError as exc:
        print(f"station central bridge-config: {exc}")
        return 2
    if args.output is None:
        print(text, end="")
        return 0
    fd = os.open(args.output, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    where = "the central broker's ACL file" if args.acl else "the site broker's configuration"
    print(f"station central bridge-config: written to {args.output}; add it to {where} and restart that "
          "broker")
    return 0


def register_report(tools: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`station central report`: the fleet's figures from the receiver's database."""
    parser = tools.add_parser(
        "report",
        help="items/h, disposition mix, no-read, override and fraud-flag rates, model versions per "
             "station and site",
        description="The fleet's figures from central's database (the latest revision of each verdict): "
                    "per station and per site.",
    )
    parser.add_argument("--db", required=True, help="central's SQLite file, or a postgresql://... URL")
    parser.add_argument("--since", default=None,
                        help="from: today (since midnight here), 2026-11-24, 2026-11-24T08:00, 24h, 7d "
                             "(default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run_report, log_to_file=False)


def run_report(args: argparse.Namespace, config: Config) -> int:
    """Print the fleet report; 2 for a bad --since, 1 when the database cannot be read."""
    from station.kpi import parse_since
    from sync.fleet_report import fleet_report, fleet_table
    from sync.postgres import mistyped_db_url

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"station central report: {exc}")
        return 2
    if (mistyped := mistyped_db_url(str(args.db))) is not None:
        print(f"station central report: {mistyped}")
        return 2
    try:
        report = fleet_report(args.db, since)
    except Exception as exc:  # sqlite3 / psycopg errors alike: a missing file, a refused login
        from sync.central import hide_db_password, shown_db
        from sync.postgres import is_database_url

        fix = ("check --db (host, port, user, password, database name) and that the database server is "
               "running") if is_database_url(str(args.db)) else "give --db the SQLite file central writes"
        print(f"station central report: cannot read {shown_db(args.db)}: "
              f"{_one_line(hide_db_password(str(exc), args.db))} — {fix}")
        return 1
    print(json.dumps(report.to_json()) if args.json else fleet_table(report))
    return 0
