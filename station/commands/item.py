"""`station item find|confirm|override|supervisor`: an item's verdict from a terminal.

What the window's Confirm, Override and Supervisor do, for a dock running `station run --headless`
or a supervisor at a terminal: each writes a new revision of the item's verdict, its outbox row and
an audit entry in one transaction of the station's database, with the window's rules (the operator
id of its sign-in, the supervisor's PIN for `[ui] supervisor_required_for`, the move-by-hand flag
for an item the conveyor already put in another lane). It works whether `station run` runs on the
same data folder or not: SQLite serialises the two writers, and the running station's publisher
sends the new revision from the outbox at its next poll (a stopped station, at its next start).

The supervisor's PIN is never a command-line value (other users see those in `ps`, the shell keeps
them in its history): `--pin` asks for it at the terminal, `--pin-stdin` reads it from a pipe.
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import json
import sqlite3
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from station.commands._args import whole
from station.commands._store import refuse
from station.config import Config
from station.operator_id import OPERATOR_ID_RULE, valid_operator_id
from station.verdict import Change, Disposition

if TYPE_CHECKING:
    from station.hand_move import HandMove
    from station.store import Store, StoreReader
    from station.verdict import Verdict

MIN_PREFIX = 8  # characters of a verdict id a command takes for the whole id
_ID_CHARS = frozenset("0123456789abcdef-")
_ASK = object()  # `--pin` without a value: ask at the terminal
FIND_HINT = "find its id with `station item find RMA` (or a GTIN or code read on the item)"


# --- argument types ------------------------------------------------------------------------


def _verdict_id(text: str) -> str:
    """A verdict id or its first characters, as `station item find` prints it (case ignored)."""
    prefix = text.strip().lower()
    if len(prefix) < MIN_PREFIX or len(prefix) > 36 or not set(prefix) <= _ID_CHARS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is no verdict id: give the id, or at least its first {MIN_PREFIX} characters, as "
            f"`station item find` prints it, e.g. 0190f3a2-7c1d")
    return prefix


def _operator(text: str) -> str:
    """An operator id by the window's sign-in rule (it is recorded and sent to central as it is)."""
    operator = text.strip()
    if not valid_operator_id(operator):
        raise argparse.ArgumentTypeError(f"{text!r} is no operator id: write {OPERATOR_ID_RULE}, e.g. op-7")
    return operator


def _name_key(text: str) -> str:
    """A disposition's name as compared: case, accents, blanks and dashes ignored."""
    plain = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("-", "_").replace(" ", "_")


def _disposition(text: str) -> Disposition:
    """A disposition by its name ("manual_review", "Manual review") or as the French window says it
    ("Réparation", "contrôle manuel")."""
    from station.i18n import disposition_words

    names = {_name_key(disposition_words(d.value, language)): d
             for d in Disposition for language in ("en", "fr")}
    names.update({d.value: d for d in Disposition})
    found = names.get(_name_key(text))
    if found is None:
        valid = ", ".join(d.value for d in Disposition)
        raise argparse.ArgumentTypeError(f"{text!r} is no disposition: write one of {valid}")
    return found


def _words(what: str) -> Callable[[str], str]:
    """An argparse type: a text that must not be empty (blanks around it dropped)."""
    def parse(text: str) -> str:
        words = text.strip()
        if not words:
            raise argparse.ArgumentTypeError(f"the {what} is empty: write it in quotes")
        return words
    return parse


# --- registration ----------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "item", help="find an item; confirm, override or flag it for a supervisor without the window",
        description="What the window's Confirm, Override and Supervisor do, from a terminal: a new "
                    "revision of the item's verdict, audited and sent to central. Works while "
                    "`station run` runs on the same data folder, and when it does not.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    find = actions.add_parser("find", help="items by RMA, GTIN or code text, newest first")
    find.add_argument("text", type=_words("search text"), metavar="TEXT",
                      help="an RMA, a GTIN or the text of a code read on the item")
    find.add_argument("--limit", type=whole(1, 10_000, "20"), default=50,
                      help="at most this many items (default 50)")
    find.add_argument("--json", action="store_true", help="one JSON object per item on stdout")
    find.set_defaults(handler=run)

    confirm = actions.add_parser("confirm", help="agree with the item's verdict (the window's Confirm)")
    _item_arguments(confirm)

    override = actions.add_parser(
        "override", help="the operator's own disposition (the window's Override)", formatter_class=_Help,
        description="Dispositions in [ui] supervisor_required_for need the supervisor's PIN: "
                    "--pin asks for it at the terminal (it is asked anyway when needed and this is a "
                    "terminal), --pin-stdin reads it from the first line of stdin.")
    _item_arguments(override)
    override.add_argument("--to", dest="disposition", type=_disposition, required=True,
                          metavar="DISPOSITION",
                          help=f"the new disposition: {', '.join(d.value for d in Disposition)}")
    override.add_argument("--reason", type=_words("reason"), required=True,
                          help="why (recorded in the audit log and sent to central)")
    pin = override.add_mutually_exclusive_group()
    # nargs="?": a PIN typed after --pin is refused with what to do, not taken as an unknown argument.
    pin.add_argument("--pin", nargs="?", const=_ASK, default=None, metavar="",
                     help="ask for the supervisor's PIN at the terminal (never write it on the command "
                          "line)")
    pin.add_argument("--pin-stdin", action="store_true",
                     help="read the supervisor's PIN from the first line of stdin (scripts)")

    supervisor = actions.add_parser("supervisor",
                                    help="flag the item for a supervisor (the window's Supervisor)")
    _item_arguments(supervisor)
    supervisor.add_argument("--note", default="", help="what the supervisor should look at (optional)")


class _Help(argparse.HelpFormatter):
    """The help of `--pin` shows no value: it takes none (one typed after it is refused)."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if action.nargs == argparse.OPTIONAL and action.metavar == "":
            return ""
        return super()._format_args(action, default_metavar)


def _item_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("verdict_id", type=_verdict_id, metavar="VERDICT_ID",
                        help=f"the item's verdict id, or its first {MIN_PREFIX} characters or more")
    parser.add_argument("--operator", type=_operator, required=True, metavar="ID",
                        help="who does it, as at the window's sign-in (e.g. op-7); audited")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


# --- running ---------------------------------------------------------------------------------


class _RefusedError(Exception):
    """What the command refuses, with its exit status (2: bad input, 1: anything else)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run(args: argparse.Namespace, config: Config) -> int:
    from station.store import SchemaError, StoreError

    name = f"station item {args.action}"
    try:
        if args.action == "find":
            return _find(args, config)
        return _change(args, config)
    except _RefusedError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return exc.code
    except (StoreError, SchemaError) as exc:
        return refuse(f"item {args.action}", exc)


def _reader(config: Config) -> StoreReader:
    from station.store import StoreReader

    return StoreReader(config.in_data_dir(config.storage.db_path))


def _unreadable(reader: StoreReader, exc: sqlite3.Error) -> Exception:
    """A station database that could not be read (held past the wait by a writer, damaged): said as the
    store says it. Another program's database was refused when the reader opened it."""
    from station.store import StoreError

    return StoreError(f"cannot read the station database {reader.path} ({exc}) — nothing was recorded; try "
                      "again in a moment, and if it persists run `station migrate --check`")


def _find(args: argparse.Namespace, config: Config) -> int:
    with _reader(config) as reader:
        try:
            found = reader.recent(args.limit, search=args.text)
        except sqlite3.Error as exc:
            raise _unreadable(reader, exc) from None
    if not found:
        raise _RefusedError(f"no item with the RMA, GTIN or code {args.text!r} — check it (an RMA is "
                            "matched whole, e.g. R-1042), or look for a GTIN or another code read on the "
                            "item", 1)
    for verdict in found:
        if args.json:
            print(json.dumps(_item_json(verdict)))
        else:
            print(_item_line(verdict))
    return 0


def _local(at: datetime) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _item_line(verdict: Verdict) -> str:
    item = verdict.item
    sku = item.observed_sku or item.expected_sku or "-"
    return (f"{verdict.verdict_id}  {_local(verdict.created_at)}  {item.rma or '-':<12}  {sku:<12}  "
            f"{verdict.decision.disposition.value:<13}  revision {verdict.revision} {verdict.change.value}")


def _item_json(verdict: Verdict) -> dict[str, Any]:
    item = verdict.item
    decision = verdict.decision
    return {
        "verdict_id": verdict.verdict_id, "created_at": verdict.to_json()["created_at"],
        "rma": item.rma, "expected_sku": item.expected_sku, "observed_sku": item.observed_sku,
        "gtins": list(item.gtins), "disposition": decision.disposition.value, "grade": decision.grade.value,
        "source": decision.source.value, "revision": verdict.revision, "change": verdict.change.value,
        "changed_by": verdict.changed_by, "flags": list(decision.flags),
        "lane": verdict.routing.lane, "lost": verdict.routing.lost,
    }


def _resolve(config: Config, prefix: str) -> str:
    """The whole verdict id of the one item whose id starts with `prefix`, read before anything is
    written: an unknown or ambiguous id, or a database that is not a station's, changes nothing."""
    with _reader(config) as reader:
        try:
            rows: Sequence[tuple[str, str | None]] = reader.conn.execute(
                "SELECT verdict_id, rma FROM items WHERE verdict_id >= ? AND verdict_id < ? "
                "ORDER BY created_ts DESC LIMIT 4", (prefix, prefix + "~")).fetchall()
        except sqlite3.Error as exc:
            raise _unreadable(reader, exc) from None
    if not rows:
        raise _RefusedError(f"no item has a verdict id starting with {prefix} — {FIND_HINT}", 2)
    if len(rows) > 1:
        some = ", ".join(f"{vid} ({rma or 'no RMA'})" for vid, rma in rows[:3])
        more = " and more" if len(rows) > 3 else ""
        raise _RefusedError(f"{prefix} starts the verdict ids of several items: {some}{more} — give more "
                            f"of the id (items inspected within a minute share their first {MIN_PREFIX} "
                            "characters), as `station item find` prints it", 2)
    return str(rows[0][0])


def _change(args: argparse.Namespace, config: Config) -> int:
    from station.datadir import not_writable
    from station.store import Store

    if args.action == "override":
        _refuse_pin_value(args)
    problem = not_writable(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        raise _RefusedError(problem, 1)
    verdict_id = _resolve(config, args.verdict_id)
    store = Store.from_config(config)
    try:
        new, done = _write(args, config, store, verdict_id)
    except sqlite3.OperationalError as exc:  # the running station held the database past the wait
        raise _RefusedError(f"cannot write to the station database {store.path} ({exc}) — nothing was "
                            "recorded; try again in a moment", 1) from None
    finally:
        store.close()
    move = _hand_move(new, config) if args.action == "override" else None
    if args.json:
        where = {"from_lane": move.lane, "to_lane": move.target_lane} if move else None
        print(json.dumps({**_item_json(new), "action": args.action, "operator": args.operator,
                          "move_by_hand": where}))
    else:
        pin = " with the supervisor's PIN" if new.change is Change.SUPERVISOR_APPROVED else ""
        print(f"item {new.verdict_id} ({_rma_words(new)}) {done} by {args.operator}{pin}: revision "
              f"{new.revision}; {_sync_words(config)}" + (f"; {_move_words(move)}" if move else ""))
    return 0


def _write(args: argparse.Namespace, config: Config, store: Store, verdict_id: str) -> tuple[Verdict, str]:
    """The new revision and what it did, in words."""
    if args.action == "confirm":
        new = store.confirm(verdict_id, args.operator)
        return new, f"confirmed as {new.decision.disposition.value}"
    if args.action == "supervisor":
        return store.request_supervisor(verdict_id, args.operator, args.note), "flagged for a supervisor"
    new = _override(args, config, store, verdict_id)
    return new, f"overridden to {new.decision.disposition.value}"


def _refuse_pin_value(args: argparse.Namespace) -> None:
    """Refuse a PIN written on the command line before anything is opened: it is already in `ps`
    and the shell's history, so say so and let the supervisor change it."""
    if args.pin is not None and args.pin is not _ASK:
        raise _RefusedError("the supervisor's PIN is never given on the command line (other users see "
                            "it in `ps`, the shell keeps it in its history) — use --pin alone to be asked "
                            "for it, or --pin-stdin to pipe it; and have the supervisor change that PIN", 2)


def _override(args: argparse.Namespace, config: Config, store: Store, verdict_id: str) -> Verdict:
    """The window's override (station/actions.py `OperatorActions.override`): the supervisor's PIN
    for the dispositions that need it, a refusal audited as `override_refused`, and the lanes, so
    an item already in another lane is flagged to be moved by hand."""
    target: Disposition = args.disposition
    approved = False
    if target.value in config.ui.supervisor_required_for:
        expected = config.ui.supervisor_pin
        typed = _read_pin(args, target) if expected else None
        if not expected or typed is None or not hmac.compare_digest(typed.encode(), expected.encode()):
            store.audit(args.operator, "override_refused", {"verdict_id": verdict_id, "to": target.value,
                                                           "why": "supervisor PIN missing or wrong"})
            raise _RefusedError(_pin_refusal(args, target, expected, typed), 1)
        approved = True
    return store.record_override(verdict_id, target, args.operator, args.reason,
                                 lanes=config.hardware.lanes, supervisor_approved=approved)


def _read_pin(args: argparse.Namespace, target: Disposition) -> str | None:
    """The PIN from stdin (`--pin-stdin`) or asked at the terminal, without echo (`--pin-stdin` at a
    terminal too: a line read from it would show the PIN on the screen); None when there is no way to
    get it (no terminal to ask at) or nothing was typed."""
    terminal = sys.stdin.isatty()
    if args.pin_stdin and not terminal:
        line = sys.stdin.readline().rstrip("\r\n")
        return line or None
    if not terminal:
        return None
    typed = getpass.getpass(f"supervisor's PIN for the override to {target.value}: ")
    return typed or None


def _pin_refusal(args: argparse.Namespace, target: Disposition, expected: str, typed: str | None) -> str:
    if not expected:
        return (f"an override to {target.value} needs the supervisor's PIN, and none is set on this "
                "station — set [ui] supervisor_pin in config.toml or STATION_SUPERVISOR_PIN, or flag the "
                "item with `station item supervisor`")
    if typed is None:
        if sys.stdin.isatty():
            how = "none was typed"
        elif args.pin_stdin:
            how = "the first line of stdin was empty"
        else:
            how = "stdin is not a terminal to ask at: pipe it with --pin-stdin"
        return f"an override to {target.value} needs the supervisor's PIN ({how}); nothing was recorded"
    return f"wrong supervisor's PIN for the override to {target.value}: nothing was recorded; try again"


def _rma_words(verdict: Verdict) -> str:
    return f"RMA {verdict.item.rma}" if verdict.item.rma else "no RMA"


def _sync_words(config: Config) -> str:
    if not config.sync.broker:
        return "kept in the outbox for central ([sync] broker is not set on this station)"
    return (f"central gets it with the next sync (a running station sends it within "
            f"{config.sync.poll_interval_s:g} s, else at its next start)")


def _hand_move(verdict: Verdict, config: Config) -> HandMove | None:
    """The move an override left to do by hand (the window's red bar says the same), read from the new
    revision's routing, which an override never changes: the `move_by_hand` flag stays on every later
    revision, so it alone cannot tell whether this override needs a move."""
    from station.hand_move import hand_move

    return hand_move(verdict, verdict.decision.disposition, config.hardware.lanes)


def _move_words(move: HandMove) -> str:
    return (f"move it by hand: take it out of lane {move.lane} ({move.lane_name}) and put it in "
            f"{move.target.value} (lane {move.target_lane})")
