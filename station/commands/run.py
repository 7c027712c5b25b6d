"""`station run`: the station itself — the desktop app, or `--headless` the same pipeline alone."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from station.commands._args import RATE, SPACING, SPEED, number, whole
from station.commands._store import refuse
from station.config import Config
from station.config_text import shown_config
from station.i18n import LANGUAGES, QT_TRANSLATE_NOOP, is_language
from station.options import DEMO_VIEWS, with_demo_cameras
from station.service import PipelineHeartbeat, ServiceWatchdog

if TYPE_CHECKING:
    import numpy as np

    from station.app import Station
    from station.state import Health

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run",
        help="run the station (desktop app; --headless for no window)",
        description="Run the station. With no options: the desktop app on the embedded defaults "
        "(synthetic camera, simulated conveyor on a pseudo-terminal, local SQLite, a local MQTT "
        "broker when mosquitto is installed).",
    )
    parser.add_argument("--headless", action="store_true", help="no window: print a status line instead")
    parser.add_argument("--items", type=whole(1, example="100"), default=None, metavar="N",
                        help="stop after N items are recorded and routed")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="PATH",
                        help="render the window offscreen once --items items (the demo feeds that many) are "
                             "decided, save a PNG per page and stop")
    parser.add_argument("--speed", type=SPEED, default=None, metavar="M_PER_S",
                        help="simulated belt speed (default [hardware].sim_speed_m_s)")
    parser.add_argument("--spacing", type=SPACING, default=None, metavar="M",
                        help="simulated distance between items (default [hardware].sim_spacing_m)")
    parser.add_argument("--rate", type=RATE, default=None, metavar="ITEMS_PER_S",
                        help="simulated item rate (overrides speed / spacing)")
    parser.add_argument("--drain-timeout", type=number(0, 3600, example="5"), default=5.0, metavar="S",
                        help="with --items: wait up to S s for central to acknowledge the last verdicts")
    parser.add_argument("--json", action="store_true", help="status and summary as JSON lines on stdout")
    parser.add_argument("--lang", choices=("en", "fr"), default=None,
                        help="the operator's language for this run (overrides [ui].language)")
    parser.add_argument("--cameras", type=int, choices=range(1, len(DEMO_VIEWS) + 1), default=None,
                        metavar="N", help="the demo line seen by N synthetic cameras "
                        f"({', '.join(DEMO_VIEWS)}, in that order); needs [camera] source = \"synthetic\"")
    parser.add_argument("--size", type=_window_size, default=None, metavar="WxH",
                        help="the window's size in pixels, e.g. 1920x1080 (default 1366x768)")
    parser.add_argument("--fullscreen", action="store_true",
                        help="the window fills the screen (the kiosk on a dock PC; [ui].fullscreen)")
    parser.set_defaults(handler=run, log_to_file=True)


def _window_size(text: str) -> tuple[int, int]:
    """`WxH` from the command line: the window's size in pixels."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or not (640 <= int(width) <= 7680
                                                                       and 480 <= int(height) <= 4320):
        raise argparse.ArgumentTypeError(f"{text!r} is not a window size: write WIDTHxHEIGHT, e.g. 1920x1080 "
                                         "(640x480 to 7680x4320)")
    return int(width), int(height)


# The headless status line and the summary at the stop, in [ui].language. In English they read as
# they always have; `--json` keeps its English keys (a contract for scripts), and so does the
# `station stopped: {...}` line after the summary's words.
_STATUS = QT_TRANSLATE_NOOP(
    "StatusLine", "items {items:>6}  {per_hour:>6}/h  p50 {p50:>6} ms  late {late}  misrouted {misrouted}  "
    "lost {lost}  outbox {outbox}  | {health}")
_ALL_OK = QT_TRANSLATE_NOOP("StatusLine", "all OK")
_LOGGED = QT_TRANSLATE_NOOP("StatusLine", "{time} status: {line}")
_STOPPED = QT_TRANSLATE_NOOP(
    "StatusLine", "Station stopped: {items} items recorded ({confirmed} seen in their lane by the "
    "controller); late {late}, wrong lane {misrouted}, lost {lost}; not inspected: {overloaded} "
    "(too busy), {disk_full} (disk full); without a record {unrecorded}; lane results not saved "
    "{record_errors}; decision time p50 {p50} ms, p95 {p95} ms; waiting for central {outbox}, and "
    "{pictures} pictures.")


def _status_line(stats: dict[str, Any], health: dict[str, Health], language: str = "en") -> str:
    bad = [h.summary for h in health.values() if h.level.value != "ok"]
    p50 = stats.get("latency_ms_p50")
    return _STATUS.render(
        language, items=stats["items"], per_hour=stats["items_per_hour"],
        p50=p50 if p50 is not None else "-", late=stats.get("late", 0), misrouted=stats.get("misrouted", 0),
        lost=stats.get("lost", 0), outbox=stats.get("outbox_backlog", "-"),
        health="; ".join(bad) if bad else _ALL_OK.render(language),
    )


def _summary_words(summary: dict[str, Any], language: str) -> str:
    """The summary at the stop in the operator's words (`-` for a figure the station did not have)."""
    def figure(key: str) -> object:
        value = summary.get(key)
        return "-" if value is None else value

    return _STOPPED.render(
        language, items=figure("items"), confirmed=figure("confirmed"), late=figure("late"),
        misrouted=figure("misrouted"), lost=figure("lost"), overloaded=figure("overloaded"),
        disk_full=figure("disk_full"), unrecorded=figure("unrecorded"), record_errors=figure("record_errors"),
        p50=figure("latency_ms_p50"), p95=figure("latency_ms_p95"), outbox=figure("outbox_backlog"),
        pictures=figure("image_backlog"),
    )


def with_language(config: Config, language: str | None) -> Config:
    """The config with `--lang` in [ui].language: every part (status lines, reasons, window) reads it."""
    if language is None:
        return config
    if not is_language(language):
        raise ValueError(f"--lang {language!r}: the station speaks {', '.join(LANGUAGES)}")
    return dataclasses.replace(config, ui=dataclasses.replace(config.ui, language=language))


@dataclasses.dataclass
class _Carried:
    """What one run of a restart hands the next: why it runs in the mode it ran in before (a mode that
    could not start), and who was signed in (the operator at the bench is the same a second later)."""

    notice: str | None = None
    operator: str | None = None


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the station; when the operator switched bench/conveyor mode and chose "Restart now", stop it
    and run it again on the config file as saved (same process, so systemd sees a reload, not a stop),
    the operator still signed in. A run in the new mode that cannot start gives way to the mode that
    ran, so the window comes back."""
    from station.ui.settings import EXIT_RESTART

    before: Config | None = None  # what ran before a restart, while the restarted run has not started
    carried = _Carried()
    while True:
        code = _run_once(args, config, carried)
        if before is not None and code in _START_FAILED:
            notice = _back_to(before, config)
            if notice is None:
                return code
            print(f"station run: {notice}", file=sys.stderr, flush=True)
            config, before, carried = before, None, _Carried(notice, carried.operator)
            continue
        if code != EXIT_RESTART:
            return code
        reloaded = _saved_config(config)
        if reloaded is None:
            return 2
        before, config, carried = config, reloaded, _Carried(operator=carried.operator)
        print(f"station run: starting again in {config.station.mode} mode", file=sys.stderr, flush=True)


# What `_run_once` returns for a station that never started (a data folder not writable or held by
# another, a database or camera it cannot open, a device that refused to start): it printed why.
_START_FAILED = (1, 2, 3)

_COULD_NOT_START = {
    "bench": QT_TRANSLATE_NOOP(
        "Health", "could not start in bench mode (the log says why): running in conveyor mode as before, "
                  "and config.toml says conveyor again"),
    "conveyor": QT_TRANSLATE_NOOP(
        "Health", "could not start in conveyor mode (the log says why): running in bench mode as before, "
                  "and config.toml says bench again"),
}


def _back_to(before: Config, failed: Config) -> str | None:
    """Write the mode that ran back into the config file; the words for the operator (None, said, when
    the file cannot be written)."""
    from station.config_writer import write_settings

    try:
        write_settings(Path(before.source), "station", {"mode": before.station.mode})
    except OSError as exc:
        print(f"station run: cannot write [station] mode = {before.station.mode!r} back into {before.source} "
              f"({exc}): set it by hand, then start the station again", file=sys.stderr)
        return None
    return _COULD_NOT_START[failed.station.mode].render(before.ui.language)


def _saved_config(config: Config) -> Config | None:
    """The config file read again after the window saved a new mode (None, said, when it no longer loads)."""
    from station.config import ConfigError, load_config

    try:
        return load_config(Path(config.source), from_option=True)
    except ConfigError as exc:
        print(f"station run: cannot start again: {exc}", file=sys.stderr)
        return None


def _run_once(args: argparse.Namespace, config: Config, carried: _Carried | None = None) -> int:
    from station.datadir import not_writable

    config = with_language(config, getattr(args, "lang", None))
    if getattr(args, "cameras", None) is not None:
        try:
            config = with_demo_cameras(config, args.cameras)
        except ValueError as exc:
            print(f"station run: {exc}", file=sys.stderr)
            return 2
    from station.datalock import DataLock, DataLockError

    problem = not_writable(config.data_dir, config.in_data_dir(config.storage.db_path))
    if problem:
        print(f"station run: {problem}", file=sys.stderr)
        return 1
    if args.items is not None and args.items < 1:
        print("station run: --items must be at least 1", file=sys.stderr)
        return 2
    # The data folder first, before the database, the broker or the conveyor are opened:
    # a second station on it would share them all.
    lock = DataLock(config.data_dir)
    try:
        lock.acquire()
    except DataLockError as exc:
        print(f"station run: refusing to start: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"station run: cannot lock the data folder {config.data_dir} ({exc}) — check that it "
              "is writable, or set [station].data_dir", file=sys.stderr)
        return 3
    try:
        return _run_locked(args, config, carried or _Carried())
    finally:
        lock.release()


def _run_locked(args: argparse.Namespace, config: Config, carried: _Carried) -> int:
    from station.app import RunOptions, Station
    from station.store import SchemaError, StoreError
    from station.ui.settings import EXIT_RESTART
    from vision.camera.errors import SourceError

    headless = args.headless
    if not headless:
        from station.ui.settings import display_available

        if args.screenshot is None and not display_available():
            print("station run: no display found (DISPLAY is not set): running headless. "
                  "Start it from a desktop session for the window.", file=sys.stderr)
            headless = True
    options = RunOptions(items=args.items,
                         sim_speed_m_s=args.speed, sim_spacing_m=args.spacing, sim_rate_items_s=args.rate,
                         headless=headless)
    try:
        station = Station(config, options)
    except (StoreError, SchemaError) as exc:  # a database that is not the station's, or too new
        return refuse("run: refusing to start", exc)
    except SourceError as exc:  # a camera the config names in a way no source can open
        print(f"station run: refusing to start: {exc} — check [camera] / [cameras.NAME] source and device "
              "(`station cameras list` shows what is connected)", file=sys.stderr)
        return 2
    if carried.notice is not None:  # why the station runs in the mode it ran in before a switch
        from station.state import Health, Level

        station.state.set_health(Health("mode", Level.WARNING, carried.notice, carried.notice))
    if carried.operator is not None:  # signed in again for them, in this run's session (audited)
        station.actions.sign_in(carried.operator)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping cleanly", signum)
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        station.start()  # stops what it started before an error goes up
    except OSError as exc:  # e.g. a TLS file removed since the config was read
        signal.signal(signal.SIGTERM, previous)
        print(f"station run: refusing to start: {exc}", file=sys.stderr)
        return 2
    # Under systemd (Type=notify): READY now the line runs, WATCHDOG while the pipeline progresses.
    service = ServiceWatchdog(PipelineHeartbeat(station.pipeline))
    service.ready()
    code = 1
    try:
        code = _run_headless(station, args, stop) if headless else _run_window(station, config, args, stop)
    except KeyboardInterrupt:
        logger.info("Ctrl-C: stopping cleanly")
        code = 130
    finally:
        if code == EXIT_RESTART:
            service.restarting(f"starting again in {_other_mode(config)} mode")
            carried.operator = station.state.operator_id
        else:
            service.stopping()
        station.stop()
        signal.signal(signal.SIGTERM, previous)
    summary = _summary(station)
    if args.json:
        print(json.dumps({"summary": summary}), flush=True)
    else:
        print(_summary_words(summary, config.ui.language), file=sys.stderr)
        print(f"station stopped: {json.dumps(summary)}", file=sys.stderr)
    if station.disk.tripped:
        print(f"station run: {_disk_full_message(station)}", file=sys.stderr)
        return code or EXIT_DISK_FULL
    return code


EXIT_DISK_FULL = 4  # 3 is a data folder held by another station


def _other_mode(config: Config) -> str:
    return "bench" if config.station.mode == "conveyor" else "conveyor"


def _disk_full_message(station: Station) -> str:
    """The one plain message of a run the disk cut short: what happened to every item, what to do."""
    counters = station.pipeline.counters.snapshot()
    disk = station.disk.check()
    missing = station.pipeline.unrecorded
    named = (f"{len(missing)} item(s) have NO record, conveyor item ids "
             + ", ".join(str(item) for item, _ in missing) + " (find them in the manual lane)"
             if missing else "every item has a record")
    return (f"disk full: the data folder {disk.folder} fell below the {disk.stop_mb} MB kept in reserve "
            f"([storage].stop_free_disk_mb; {disk.free_mb:.1f} MB free now), so the station stopped "
            f"inspecting and let the controller send items to the manual lane. Items recorded: "
            f"{counters['recorded']} ({counters['disk_full']} of them uninspected for lack of space); "
            f"{named}. Free space on that disk (old images, logs) or move [station].data_dir to a larger "
            "one, then start again.")


def _run_headless(station: Station, args: argparse.Namespace, stop: threading.Event) -> int:
    # On a terminal the status line is redrawn in place; in a log file or the journal that
    # would pile up as one endless line, so there it is a plain line every few seconds.
    live = sys.stderr.isatty()
    language = station.config.ui.language
    every_s = 1.0 if args.json or live else float(station.config.ui.log_status_every_s)
    last = time.monotonic() if not (args.json or live) else 0.0
    while not stop.is_set():
        if args.items is not None and station.wait_items(args.items, timeout_s=0.2):
            break
        if args.items is None:
            stop.wait(0.2)
        now = time.monotonic()
        if now - last >= every_s:
            last = now
            stats = station.stats()
            if args.json:
                print(json.dumps({"status": stats}), flush=True)
            elif live:
                print("\r" + _status_line(stats, station.state.health(), language), end="", file=sys.stderr,
                      flush=True)
            else:
                line = _status_line(stats, station.state.health(), language)
                print(_LOGGED.render(language, time=time.strftime("%Y-%m-%d %H:%M:%S"), line=line),
                      file=sys.stderr, flush=True)
    if live and not args.json:
        print(file=sys.stderr)
    if station.uplink.publisher is not None:
        # Give the outbox a moment to hand the last verdicts to the broker before we say goodbye.
        station.uplink.publisher.wait_drained(timeout=args.drain_timeout)
    return 0


def _run_window(station: Station, config: Config, args: argparse.Namespace, stop: threading.Event) -> int:
    from calibration.errors import CalibrationError
    from station.alert_sound import AlertSound
    from station.commands.version import versions
    from station.ui.app import run_app
    from station.ui.calibration_page import board_from_config, wizard_settings_from_config
    from station.ui.settings import UiSettings, ui_settings_from_config

    settings: UiSettings = ui_settings_from_config(config)
    if args.size is not None:
        settings = dataclasses.replace(settings, window_size=args.size)
    if getattr(args, "fullscreen", False):
        settings = dataclasses.replace(settings, fullscreen=True)

    def frames() -> np.ndarray | None:  # called on worker threads; Camera.latest() is thread-safe
        frame = station.camera.latest(max_age_s=1.0)
        return frame.image if frame is not None else None

    try:
        board = board_from_config(config)
    except CalibrationError as exc:
        logger.warning("calibration wizard without a board: %s", exc)
        board = None
    synthetic = config.camera.source == "synthetic"
    queries = station.queries
    # The alert tone through the sound card (the desktop's bell is silent on most PCs); none for screenshots.
    alert = AlertSound.find(config.data_dir) if config.ui.beep and args.screenshot is None else None
    return run_app(
        station.state, station.actions, settings, kpi_source=queries.kpis, history_source=queries.history,
        search_source=station.search_record,
        screenshot=args.screenshot, items=args.items,
        about={**versions(), "station_id": config.station.id, "site_id": config.station.site,
               "config": config.source, "data_dir": str(config.data_dir.resolve())},
        models_source=lambda: station.models.current().refs(),
        config_text=shown_config(config),
        config_source=config.source if config.source != "<defaults>" else "",
        calibration_frames=None if synthetic else frames,
        live_frames=frames,
        calibration_file=config.resolve(config.calibration.file),
        board=board,
        calibration_settings=wizard_settings_from_config(config),
        stop=stop,  # SIGTERM closes the window, sends what waits, and the station stops as after a close
        beeper=alert.play if alert is not None else None,
        # A switch of mode may start the station again at once (`run`), but not in a screenshot run.
        restart=args.screenshot is None and config.source != "<defaults>",
    )


def _summary(station: Station) -> dict[str, Any]:
    stats = station.stats()
    summary = {k: stats.get(k) for k in ("items", "views_per_item", "late", "misrouted", "lost", "confirmed",
                                         "overloaded", "record_errors", "disk_full", "unrecorded",
                                         "latency_ms_p50", "latency_ms_p95", "outbox_backlog")}
    # Pictures apart: they wait behind the verdicts, and a drain at stop waits for verdicts only.
    sync = station.uplink.stats()
    return {**summary, "image_backlog": sync.image_backlog if sync is not None else None}
