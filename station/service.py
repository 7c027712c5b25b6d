"""The station as a systemd service: READY, WATCHDOG and STOPPING, and when not to say WATCHDOG.

systemd starts `station run` with `Type=notify` and `WatchdogSec=`: it waits for READY=1 before
calling the service started, and kills and restarts it (`Restart=on-failure`) when WATCHDOG=1
stops coming. The protocol is one datagram per message to the unix socket named by
$NOTIFY_SOCKET (an abstract socket when the name starts with `@`), so it is written here with
the standard library: no libsystemd, and nothing at all happens when the variable is unset (a
station started by hand).

The WATCHDOG pings come from the pipeline's own progress, not from a timer alone: a thread
that merely ticks would keep a station alive whose inspection worker hangs on a camera or a
locked disk while items pile up. `Liveness` is the rule: the pipeline is stuck when items have
been waiting for `stall_s` without any stage finishing one; a pipeline that finishes items,
however slowly, and an idle one are alive.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFAULT_STALL_S",
    "Heartbeat",
    "Liveness",
    "Notifier",
    "PipelineHeartbeat",
    "ServiceWatchdog",
    "watchdog_interval_s",
]

logger = logging.getLogger(__name__)

# Longer than any one item can honestly take (a camera's reconnect, a model reload, an SQLite
# checkpoint), far shorter than a shift of items sent to the manual lane.
DEFAULT_STALL_S = 20.0


class Notifier:
    """Sends sd_notify messages to $NOTIFY_SOCKET; does nothing when systemd did not start the station."""

    def __init__(self, address: str | None = None) -> None:
        if address is None:
            address = os.environ.get("NOTIFY_SOCKET") or None
        self.address = address

    @property
    def enabled(self) -> bool:
        """True when there is a socket to tell."""
        return self.address is not None

    def send(self, **fields: str | int) -> bool:
        """Send `KEY=value` lines in one datagram (`send(READY=1, STATUS="...")`); False when not sent."""
        if self.address is None:
            return False
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode("utf-8")
        # An abstract socket's name starts with a NUL byte; systemd writes it as '@'.
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            # Never blocking: a receiver that does not read (its queue full) must not stall the
            # station; a ping lost that way is one of many.
            kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            with socket.socket(socket.AF_UNIX, kind) as sock:
                sock.connect(target)
                sock.send(payload)
        except BlockingIOError:
            logger.debug("systemd's notify socket %s is full: %s dropped", self.address, ", ".join(fields))
            return False
        except OSError as exc:
            # systemd gone or the socket removed: the station goes on; only supervision is lost.
            logger.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), as sd_watchdog_enabled() advises; None if off.

    $WATCHDOG_PID, when set, names the process meant: a child that inherited the variables
    must not ping for its parent.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2


@dataclass(frozen=True)
class Heartbeat:
    """One look at the pipeline: how many items its stages have finished, and whether any wait."""

    finished: int
    waiting: bool


class HeartbeatSource(Protocol):
    """Something that can be looked at for a `Heartbeat` (the pipeline, in practice)."""

    def __call__(self) -> Heartbeat: ...


class Liveness:
    """The rule: stuck when items waited `stall_s` while no stage finished any; otherwise alive.

    Fed one `Heartbeat` at a time with the monotonic time it was taken; no thread, no clock
    of its own, so it is tested by feeding it.
    """

    def __init__(self, stall_s: float = DEFAULT_STALL_S) -> None:
        if stall_s <= 0:
            raise ValueError("stall_s must be positive")
        self.stall_s = stall_s
        self._finished: int | None = None
        self._since: float | None = None  # when the pipeline last finished an item or was idle

    def observe(self, beat: Heartbeat, now: float) -> bool:
        """Take one look; True when the pipeline is alive (ping the watchdog), False when stuck."""
        if self._finished is None or beat.finished != self._finished or not beat.waiting:
            # Progress, or nothing to do: either way nothing is stuck.
            self._finished = beat.finished
            self._since = now
            return True
        assert self._since is not None
        return now - self._since < self.stall_s

    def stuck_for_s(self, now: float) -> float:
        """How long items have waited without progress (0 when alive at the last look)."""
        return 0.0 if self._since is None else max(now - self._since, 0.0)


class _PipelineLike(Protocol):
    def idle(self) -> bool: ...

    @property
    def counters(self) -> _CountersLike: ...


class _CountersLike(Protocol):
    def snapshot(self) -> dict[str, int]: ...


# Every way an item leaves a stage: inspected (and routed), recorded, or put aside as too many,
# disk full or unwritable. An item leaving the capture stage lands in one of these further on.
_FINISHES = ("inspected", "recorded", "routed", "overloaded", "disk_full", "record_errors", "unrecorded")


class PipelineHeartbeat:
    """The pipeline's heartbeat: its finish counters and whether items wait in its queues."""

    def __init__(self, pipeline: _PipelineLike) -> None:
        self.pipeline = pipeline

    def __call__(self) -> Heartbeat:
        counts = self.pipeline.counters.snapshot()
        return Heartbeat(sum(counts.get(name, 0) for name in _FINISHES), not self.pipeline.idle())


class ServiceWatchdog:
    """READY once the line runs, WATCHDOG while the pipeline lives, STOPPING at the end.

    Runs one thread only when systemd asked for a watchdog; with no $NOTIFY_SOCKET every
    method is a no-op, so `station run` calls it unconditionally.
    """

    def __init__(
        self,
        heartbeat: HeartbeatSource,
        notifier: Notifier | None = None,
        interval_s: float | None = None,
        stall_s: float = DEFAULT_STALL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier if notifier is not None else Notifier()
        self.interval_s = interval_s if interval_s is not None else watchdog_interval_s()
        self.heartbeat = heartbeat
        self.liveness = Liveness(stall_s)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported_stuck = False

    def ready(self, status: str = "inspecting items") -> None:
        """The line is running: tell systemd, and start the watchdog pings if it asked for them."""
        if not self.notifier.enabled:
            return
        self.notifier.send(READY=1, STATUS=status, MAINPID=os.getpid())
        if self.interval_s is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
            self._thread.start()

    def check(self) -> bool:
        """One look at the pipeline; pings when it is alive. True when it pinged (or would have)."""
        alive = self.liveness.observe(self.heartbeat(), self.clock())
        if alive:
            if self._reported_stuck:
                self._reported_stuck = False
                logger.warning("the pipeline is finishing items again")
            self.notifier.send(WATCHDOG=1)
        elif not self._reported_stuck:
            self._reported_stuck = True
            logger.error("the pipeline has finished no item for %.0f s while items wait: no more watchdog "
                         "pings, systemd restarts the station", self.liveness.stuck_for_s(self.clock()))
            self.notifier.send(STATUS="stuck: items wait and none is finished")
        return alive

    def _run(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # a failed look must not take the pings with it silently
                logger.exception("watchdog look failed")

    def stopping(self) -> None:
        """The station is stopping: no more pings, and systemd is told why it goes quiet."""
        self._quiet()
        self.notifier.send(STOPPING=1, STATUS="stopping")

    def restarting(self, status: str) -> None:
        """The station stops to start again in the same process (a switch of mode): no more pings from
        this run, and systemd hears a reload, which the next run's READY ends. STOPPING here would make
        systemd wait for the process to end, and not start it again after a clean exit."""
        self._quiet()
        self.notifier.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000,
                           STATUS=status)

    def _quiet(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
