"""systemd supervision: the notify datagrams on a real unix socket, and the watchdog rule on a real
pipeline — one whose inspection worker hangs stops the WATCHDOG pings, a busy one keeps them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from station.pipeline import Inspected, Pipeline, Trigger
from station.service import (
    Heartbeat,
    Liveness,
    Notifier,
    PipelineHeartbeat,
    ServiceWatchdog,
    watchdog_interval_s,
)
from station.state import ItemView, StationState
from station.store import Store
from station.verdict import Verdict
from vision.camera import Frame

STALL_S = 20.0


def _messages(sock: socket.socket) -> list[dict[str, str]]:
    """Every datagram already waiting on the socket, parsed."""
    out: list[dict[str, str]] = []
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(4096)
            out.append(dict(line.split("=", 1) for line in data.decode().splitlines()))
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
        sock.settimeout(60)
    return out


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _GatedInspector:
    """An inspection worker that finishes an item only when the test opens its gate once."""

    def __init__(self, make_verdict: Callable[..., Verdict]) -> None:
        self.make_verdict = make_verdict
        self.gate = threading.Semaphore(0)
        self.entered = threading.Event()

    def inspect(self, trigger: Trigger, frames: Mapping[str, Frame | None], seq: int) -> Inspected:
        self.entered.set()
        assert self.gate.acquire(timeout=60), "the test never let the item through"
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict, None))

    def overloaded(self, trigger: Trigger, seq: int, reason: str | None = None) -> Inspected:
        verdict = self.make_verdict(seq)
        return Inspected(verdict, (), ItemView(verdict, None))


def _pipeline(store: Store, inspector: _GatedInspector) -> Pipeline:
    return Pipeline(inspector, store, StationState(), {}, frame_window_s=0.0)


def _wait_recorded(store: Store, count: int) -> None:
    event = threading.Event()
    for _ in range(600):
        if store.count_items() >= count:
            return
        event.wait(0.1)
    raise AssertionError(f"{count} items never recorded")


def test_a_stuck_pipeline_stops_the_watchdog_pings(
    store: Store, make_verdict: Callable[..., Verdict], notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    inspector = _GatedInspector(make_verdict)
    pipeline = _pipeline(store, inspector)
    clock = _Clock()
    watchdog = ServiceWatchdog(PipelineHeartbeat(pipeline), Notifier(path), interval_s=None,
                               stall_s=STALL_S, clock=clock)
    pipeline.start()
    try:
        assert watchdog.check()  # idle: alive
        for item in range(3):  # bench items: they wait for the worker, which hangs on the first
            assert pipeline.submit(Trigger("bench", item_id=item), wait=True)
        assert inspector.entered.wait(60)
        clock.now += STALL_S / 2
        assert watchdog.check()  # waiting, but not for long yet
        clock.now += STALL_S
        assert not watchdog.check()  # items waited STALL_S with none finished
        clock.now += STALL_S
        assert not watchdog.check()
        sent = _messages(sock)
        assert len([m for m in sent if "WATCHDOG" in m]) == 2  # the idle look and the early one only
        assert [m["STATUS"] for m in sent if "STATUS" in m] == ["stuck: items wait and none is finished"]
        # The worker comes back: the pings resume.
        inspector.gate.release()
        _wait_recorded(store, 1)
        clock.now += 1
        assert watchdog.check()
        assert [m for m in _messages(sock) if m.get("WATCHDOG") == "1"]
    finally:
        for _ in range(3):
            inspector.gate.release()
        pipeline.stop()


def test_a_busy_pipeline_keeps_the_watchdog_pinging(
    store: Store, make_verdict: Callable[..., Verdict], notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    inspector = _GatedInspector(make_verdict)
    pipeline = _pipeline(store, inspector)
    clock = _Clock()
    watchdog = ServiceWatchdog(PipelineHeartbeat(pipeline), Notifier(path), interval_s=None,
                               stall_s=STALL_S, clock=clock)
    pipeline.start()
    try:
        items = 6
        for item in range(items):
            assert pipeline.submit(Trigger("bench", item_id=item), wait=items > 4)
        for done in range(1, items):
            # Slow items: each takes longer than the stall time, yet one finishes between looks.
            inspector.gate.release()
            _wait_recorded(store, done)
            clock.now += STALL_S * 1.5
            assert not pipeline.idle()
            assert watchdog.check(), f"a busy pipeline was taken for stuck after {done} items"
        assert len([m for m in _messages(sock) if m.get("WATCHDOG") == "1"]) == items - 1
    finally:
        for _ in range(items):
            inspector.gate.release()
        pipeline.stop()


def test_liveness_rule() -> None:
    rule = Liveness(stall_s=10)
    assert rule.observe(Heartbeat(0, waiting=False), 0)
    assert rule.observe(Heartbeat(0, waiting=False), 100)  # idle for long: alive
    assert rule.observe(Heartbeat(0, waiting=True), 105)  # items wait since the idle look at 100
    assert rule.observe(Heartbeat(0, waiting=True), 109.9)
    assert not rule.observe(Heartbeat(0, waiting=True), 110)
    assert rule.stuck_for_s(112) == 12
    assert rule.observe(Heartbeat(1, waiting=True), 111)  # one finished: alive again
    assert rule.observe(Heartbeat(1, waiting=True), 120)
    assert not rule.observe(Heartbeat(1, waiting=True), 121)
    with pytest.raises(ValueError, match="positive"):
        Liveness(0)


def test_notify_datagrams_on_a_real_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier(path)
    assert notifier.send(READY=1, STATUS="inspecting items")
    assert sock.recv(4096) == b"READY=1\nSTATUS=inspecting items"
    watchdog = ServiceWatchdog(lambda: Heartbeat(0, waiting=False), notifier, interval_s=0.05)
    watchdog.ready()
    first = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
    assert first["READY"] == "1" and first["MAINPID"] == str(os.getpid())
    assert sock.recv(4096) == b"WATCHDOG=1"  # the pinging thread, at half the watchdog time
    watchdog.stopping()
    rest = _messages(sock)
    assert rest[-1] == {"STOPPING": "1", "STATUS": "stopping"}



def test_a_restart_in_the_same_process_is_a_reload_for_systemd(
    notify_socket: tuple[socket.socket, str],
) -> None:
    """A switch of mode starts the station again in this process: STOPPING would make systemd wait for
    the process to end (and not start a cleanly ended one again); RELOADING waits for the next READY."""
    sock, path = notify_socket
    watchdog = ServiceWatchdog(lambda: Heartbeat(0, waiting=False), Notifier(path), interval_s=0.05)
    watchdog.ready()
    watchdog.restarting("starting again in bench mode")
    rest = _messages(sock)
    assert rest[-1]["RELOADING"] == "1" and rest[-1]["STATUS"] == "starting again in bench mode"
    assert int(rest[-1]["MONOTONIC_USEC"]) > 0 and "STOPPING" not in rest[-1]
    assert not watchdog._thread or not watchdog._thread.is_alive()  # this run pings no more

def test_abstract_socket_and_no_socket() -> None:
    name = f"station-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(60)
        assert Notifier("@" + name).send(WATCHDOG=1)
        assert sock.recv(64) == b"WATCHDOG=1"
    assert not Notifier(None).enabled
    assert not Notifier(None).send(READY=1)  # started by hand: nothing to tell, nothing fails
    assert not Notifier("/nonexistent/notify").send(READY=1)  # systemd gone: the station goes on


def test_watchdog_interval_from_systemd() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None  # not ours
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


@pytest.mark.slow
def test_station_run_tells_systemd_ready_watchdog_stopping(
    tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    """`station run --headless` as systemd starts it: READY, WATCHDOG pings, STOPPING."""
    sock, path = notify_socket
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[sync]\nbroker = ""\n',
                      encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    received: list[dict[str, str]] = []
    done = threading.Event()

    def read() -> None:  # as systemd does: read every datagram as it comes
        sock.settimeout(0.5)
        while not done.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            received.append(dict(line.split("=", 1) for line in data.decode().splitlines()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "station", "--config", str(config), "run", "--headless",
                               "--items", "5", "--rate", "20"], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
    finally:
        done.set()
        reader.join()
    assert proc.returncode == 0, proc.stderr[-3000:]
    kinds = [next(iter(m)) for m in received]
    assert kinds[0] == "READY"
    assert kinds[-1] == "STOPPING"
