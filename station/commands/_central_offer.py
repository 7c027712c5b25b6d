"""`station central keygen | offer | model | config`: send a model to the stations, switch between
versions, set their decision thresholds.

The release key signs offers, model actions and thresholds; each station trusts its public half
(`[sync].trusted_key_file`) and answers every message on its reply topic. What is signed
says when, and until when (--valid-for) it may be used: a station refuses it later, and
refuses a copy of an older one sent again. These commands print one line per station: what it
answered, or that it has not answered yet. Exit status: 0 every station accepted, 1 a station
refused (or the broker could not be used), 2 a bad option, model folder, threshold or key, 3 a
station did not answer within --wait (none refused). The MQTT and signing work is sync.offer_client's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from station.config import RANGES, Config

if TYPE_CHECKING:
    from sync.mqtt import BrokerAddress
    from sync.offer_client import Answer, Request, StationRef

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NO_REPLY = 3


class _UsageError(ValueError):
    """A bad option; the message says what to give instead."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keygen`, `offer`, `model` and `config` under `station central`."""
    keygen = sub.add_parser(
        "keygen", help="make the Ed25519 release key that signs model offers, and its public half",
        description="Write a new Ed25519 private key (PEM, readable by you only) to --out and its public "
                    "half beside it (release-key.pem -> release-key.pub.pem). The stations trust the public "
                    "half ([sync].trusted_key_file); `station central offer --key` signs with the private "
                    "one. An existing file is never replaced.")
    keygen.add_argument("--out", type=Path, required=True, help="the private key file to create, e.g. "
                                                                  "release-key.pem")
    keygen.set_defaults(handler=run_keygen, log_to_file=False)

    offer = sub.add_parser(
        "offer", help="sign a model folder and send it to stations; print each station's answer",
        description="Sign MODEL_DIR's model.onnx and manifest.json once with the release key, publish the "
                    "offer on each station's model/offer topic (QoS 1, its own request id) and wait for "
                    "every station's reply. Exit status: 0 every station installed it, 1 a station refused "
                    "it (or the broker could not be used), 2 a bad option, folder or key, 3 a station did "
                    "not answer within --wait (it gets the offer when it connects again).")
    offer.add_argument("model_dir", type=Path, metavar="MODEL_DIR",
                       help="the folder `station train` wrote: model.onnx and manifest.json")
    offer.add_argument("--mode", choices=["shadow", "activate"], default="shadow",
                       help="shadow: run beside the active model, verdicts recorded, not acted on (default); "
                            "activate: use it now (the old one is kept for rollback)")
    offer.add_argument("--url", default=None,
                       help="the stations download the model from this URL instead of receiving it in the "
                            "message (it must lie under their [sync].model_url_allow)")
    _add_signed_sending(offer, "offer", "", run_offer)

    model = sub.add_parser(
        "model", help="promote, drop or roll back a model version on stations",
        description="promote: the shadow version becomes the active one; drop: the shadow version is "
                    "removed; rollback: the version active before the last switch is active again (for the "
                    "first version sent, the model the station shipped with). Exit status as `station "
                    "central offer`.")
    model.add_argument("action", choices=["promote", "drop", "rollback"], help="what to do")
    model.add_argument("name", help="the model: defect or conformity")
    _add_signed_sending(model, "action", ": the stations carry out only actions it signed, each for the "
                                         "station it names", run_model)

    thresholds = ", ".join(sorted(key for section, key in RANGES if section == "policy"))
    config = sub.add_parser(
        "config", help="set decision thresholds on stations, signed for each; print each station's answer",
        description="Sign NAME=VALUE ... for each station with the release key and publish it on the "
                    "station's config/set topic (QoS 1, its own request id); each station applies all of "
                    "them or none, and answers. NAME is one of the [policy] thresholds central may set: "
                    f"{thresholds} (docs/sync.md \"config/set\"); a wrong name, or a value that is not a "
                    "number in its range, is refused before anything is sent. Exit status as `station "
                    "central offer`.")
    config.add_argument("assignments", nargs="+", metavar="NAME=VALUE",
                        help="a threshold and its new value, e.g. defect_repair=0.45")
    _add_signed_sending(config, "config/set", ": each station checks the signature with its public half "
                                              "([sync].trusted_key_file)", run_config)


def _add_signed_sending(parser: argparse.ArgumentParser, what: str, key_use: str,
                        handler: Callable[[argparse.Namespace, Config], int]) -> None:
    """What every command that signs and sends takes: the release key, how long what it signs holds,
    the stations and the broker."""
    parser.add_argument("--key", dest="release_key", type=Path, required=True, metavar="FILE",
                        help=f"the release key (private PEM) `station central keygen --out` wrote{key_use}")
    parser.add_argument("--valid-for", default="24h", metavar="DURATION",
                        help=f"how long the signed {what} may be used, e.g. 30m, 24h, 7d (default 24h, at "
                             "most 30d): a station that is off longer refuses it when it connects; then sign "
                             "it again")
    _add_targets(parser)
    _add_connection(parser)
    parser.set_defaults(handler=handler, log_to_file=False)


def _validity(args: argparse.Namespace) -> timedelta:
    """--valid-for as a period; _UsageError says what to give instead."""
    from sync.offer_client import OfferInputError, parse_duration

    try:
        return parse_duration(args.valid_for)
    except OfferInputError as exc:
        raise _UsageError(f"--valid-for: {exc}") from None


def _add_targets(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_mutually_exclusive_group(required=True)
    targets.add_argument("--stations", default=None, metavar="SITE/STATION,...",
                         help="the stations, e.g. site-01/dock-01,site-01/dock-02 (each its [station].site "
                              "and id)")
    targets.add_argument("--db", default=None,
                         help="every station that has sent a verdict to central: its SQLite file or "
                              "postgresql:// URL")
    parser.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                        help="seconds to wait for the stations' replies (default 30)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _add_connection(parser: argparse.ArgumentParser) -> None:
    """The broker options of `station central` (--key is the release key here: the TLS key is --tls-key)."""
    parser.add_argument("--broker", required=True, metavar="URL",
                        help="the central broker's URL, e.g. mqtts://central@broker.example:8883 (user name "
                             "only: a password on the command line is visible to every user in `ps`)")
    parser.add_argument("--password-file", type=Path, default=None,
                        help="file holding the broker password (first line); else CENTRAL_MQTT_PASSWORD or "
                             "STATION_MQTT_PASSWORD from the environment")
    parser.add_argument("--ca", type=Path, default=None, help="CA certificate (PEM) for mqtts://")
    parser.add_argument("--cert", type=Path, default=None, help="client certificate (PEM) for mqtts://")
    parser.add_argument("--tls-key", type=Path, default=None,
                        help="client key (PEM) of --cert for mqtts:// (`station central --key`)")


def _address(args: argparse.Namespace) -> BrokerAddress:
    """The broker address with its credentials, as `station central` takes them; _UsageError says why not."""
    from station.commands._central_broker import broker_address

    try:
        return broker_address(args.broker, args.password_file, args.ca, args.cert, args.tls_key, "--tls-key")
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _stations(args: argparse.Namespace) -> tuple[StationRef, ...]:
    """--stations as given, or every station in central's database (--db)."""
    from sync.offer_client import OfferInputError, StationRef, parse_stations

    if args.stations is not None:
        try:
            return parse_stations(args.stations)
        except OfferInputError as exc:
            raise _UsageError(f"--stations: {exc}") from None
    from sync.central import hide_db_password, shown_db
    from sync.fleet_report import fleet_report
    from sync.postgres import mistyped_db_url

    if (mistyped := mistyped_db_url(str(args.db))) is not None:
        raise _UsageError(mistyped)
    try:
        report = fleet_report(args.db)
    except Exception as exc:  # sqlite3 / psycopg errors alike: a missing file, a refused login
        raise _UsageError(f"cannot read the stations from {shown_db(args.db)}: "
                          f"{' '.join(hide_db_password(str(exc), args.db).split())} — give --db the database "
                          "`station central` writes, or name the stations with --stations") from None
    found = tuple(StationRef(f.site_id, f.station_id) for f in report.stations if f.station_id)
    if not found:
        raise _UsageError(f"{shown_db(args.db)} holds no verdict of any station yet — name the stations with "
                          "--stations SITE/STATION,...")
    return found


def _outcome(answers: list[Answer]) -> int:
    if any(a.ok is False for a in answers):
        return EXIT_REFUSED
    if any(a.ok is None for a in answers):
        return EXIT_NO_REPLY
    return EXIT_OK


def _print_answers(answers: list[Answer], done: str, wait: float, later: str) -> None:
    """One line per station; a note for those that did not answer."""
    for answer in answers:
        if answer.ok is None:
            print(f"{answer.request.station}: no reply in {wait:g} s")
        else:
            print(f"{answer.request.station}: {done if answer.ok else 'refused'} — {answer.reason}")
    silent = sum(a.ok is None for a in answers)
    if silent:
        who = "That station is" if silent == 1 else "Those stations are"
        print(f"{who} off, cut off or busy: the broker keeps the message in the station's persistent "
              "session (QoS 1) and delivers it when the station connects again, if it has connected to "
              f"this broker before and has not been away for more than a week; {later}.")


def _send(args: argparse.Namespace, requests_of: Callable[[tuple[StationRef, ...]], list[Request]],
          header: dict[str, object], what: str, done: str, later: str) -> int:
    """Resolve broker and stations, exchange the requests, print the answers; the exit status."""
    from sync.mqtt import TlsFilesError
    from sync.offer_client import OfferBrokerError, exchange

    prog = args.command_prog
    if not 0 <= args.wait < 1e6:  # also refuses nan and inf, which no clock can wait for
        print(f"{prog}: --wait {args.wait:g} must be a number of seconds, 0 or more, e.g. 30",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        address = _address(args)
        stations = _stations(args)
    except _UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    requests = requests_of(stations)

    def sent() -> None:  # said before the wait, so a long --wait is not mistaken for a hang
        if not args.json:
            count = f"{len(stations)} station{'s' if len(stations) != 1 else ''}"
            print(f"{what} {count}; waiting up to {args.wait:g} s for their answers", flush=True)

    try:
        answers = exchange(address, requests, args.wait, on_sent=sent)
    except TlsFilesError as exc:  # its own text names the station's [sync] keys: said in options here
        given = ", ".join(f"{option} {path}" for option, path in
                          (("--ca", args.ca), ("--cert", args.cert), ("--tls-key", args.tls_key)) if path)
        print(f"{prog}: cannot use the TLS files ({given or 'the system CA certificates'}): "
              f"{' '.join(str(exc.__cause__ or exc).split())} — give readable PEM files, and with --cert the "
              "key of that certificate in --tls-key", file=sys.stderr)
        return EXIT_USAGE
    except OfferBrokerError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    code = _outcome(answers)
    if args.json:
        print(json.dumps({**header, "stations": [a.to_json() for a in answers], "exit_status": code}))
    else:
        _print_answers(answers, done, args.wait, later)
    return code


def run_keygen(args: argparse.Namespace, config: Config) -> int:
    """Write the key pair; 2 when a file exists or cannot be written."""
    from sync.offer_client import OfferInputError, write_key_pair

    try:
        public = write_key_pair(args.out)
    except OfferInputError as exc:
        print(f"{args.command_prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.out}: the release key (private, readable by you only) — sign offers with it: "
          f"station central offer MODEL_DIR --key {args.out} ...; keep it off the stations")
    print(f"{public}: its public half — copy it to every station and set [sync].trusted_key_file to it")
    return EXIT_OK


def run_offer(args: argparse.Namespace, config: Config) -> int:
    """Sign MODEL_DIR once and offer it to every station; see the module's exit statuses."""
    from sync.modelstore import OfferMode, format_time
    from sync.offer_client import (
        OfferInputError,
        build_offer,
        load_release_key,
        offer_requests,
        read_model_folder,
    )

    prog = args.command_prog
    if args.url is not None and urlsplit(args.url).scheme not in ("https", "http", "file"):
        print(f"{prog}: --url {args.url!r} must be an https://, http:// or file:// URL under the stations' "
              "[sync].model_url_allow", file=sys.stderr)
        return EXIT_USAGE
    try:
        valid_for = _validity(args)
        folder = read_model_folder(args.model_dir)
        key = load_release_key(args.release_key)
    except (OfferInputError, _UsageError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    mode = OfferMode(args.mode)
    offer = build_offer(key, folder, mode, args.url, valid_for)
    assert offer.expires is not None
    header: dict[str, object] = {"name": folder.name, "version": folder.version, "mode": mode.value,
                                 "sha256": offer.sha256, "expires": format_time(offer.expires)}
    later = (f"it refuses the offer if that is after {format_time(offer.expires)} (--valid-for "
             f"{args.valid_for}). Run this command again later to read its answer (a version is installed "
             "once, however often it is sent)")
    what = f"offered {folder.name} {folder.version} as {mode.value} (signed with {args.release_key}) to"
    return _send(args, lambda stations: offer_requests(offer, folder.model, stations), header, what,
                 "installed", later)


def run_model(args: argparse.Namespace, config: Config) -> int:
    """promote / drop / rollback, signed for each station; see the module's exit statuses."""
    from sync.offer_client import OfferInputError, action_requests, load_release_key

    try:
        valid_for = _validity(args)
        key = load_release_key(args.release_key)
    except (OfferInputError, _UsageError) as exc:
        print(f"{args.command_prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    header: dict[str, object] = {"action": args.action, "name": args.name}
    later = (f"it refuses the action if that is more than --valid-for {args.valid_for} after now. Its answer "
             "is not shown then: `station central report` shows which version decides its items once it has "
             "decided some")
    what = f"sent {args.action} {args.name} (signed with {args.release_key}) to"
    return _send(args, lambda stations: action_requests(key, args.action, args.name, stations, valid_for),
                 header, what, "done", later)


def _threshold_values(assignments: list[str]) -> dict[str, float]:
    """NAME=VALUE ... as thresholds the stations take, each a number in its range; _UsageError says
    what is allowed."""
    from station.policy import POLICY_RANGES  # what the station's config/set accepts

    def allowed(name: str) -> str:
        low, high = POLICY_RANGES[name]
        return f"{name} takes a number from {low:g} to {high:g}"

    every = "; ".join(allowed(name) for name in sorted(POLICY_RANGES))
    values: dict[str, float] = {}
    for item in assignments:
        name, equals, text = (part.strip() for part in item.partition("="))
        if not equals or not name or not text:
            raise _UsageError(f"{item!r} is not NAME=VALUE: give each threshold as NAME=VALUE, e.g. "
                              f"defect_repair=0.45 ({every})")
        if name not in POLICY_RANGES:
            raise _UsageError(f"{name!r} is not a threshold central may set: {every}")
        if name in values:
            raise _UsageError(f"{name} is given twice: give each threshold once")
        try:
            value = float(text)
        except ValueError:
            raise _UsageError(f"{name}={text}: {text!r} is not a number — {allowed(name)}") from None
        low, high = POLICY_RANGES[name]
        if not math.isfinite(value) or not low <= value <= high:
            raise _UsageError(f"{name}={text} is out of range — {allowed(name)}")
        values[name] = value
    return values


def run_config(args: argparse.Namespace, config: Config) -> int:
    """Sign NAME=VALUE ... for each station and send it; see the module's exit statuses."""
    from sync.offer_client import OfferInputError, config_requests, load_release_key

    try:
        valid_for = _validity(args)
        values = _threshold_values(args.assignments)
        key = load_release_key(args.release_key)
    except (OfferInputError, _UsageError) as exc:
        print(f"{args.command_prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    shown = " ".join(f"{name}={value}" for name, value in values.items())
    header: dict[str, object] = {"values": values}
    later = (f"it refuses the thresholds if that is more than --valid-for {args.valid_for} after now. Run "
             "this command again later to read its answer (the same values set twice change nothing)")
    what = f"sent {shown} (signed with {args.release_key}) to"
    return _send(args, lambda stations: config_requests(key, values, stations, valid_for), header, what,
                 "applied", later)
