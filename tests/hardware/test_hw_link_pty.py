"""ConveyorLink against the simulated controller over a real pseudo-terminal: routing, late
decisions, reboot, unplug/replug, e-stop, jam, watchdog and silence."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import serial

from hardware import events as ev
from hardware.framing import decode_frame, encode_frame
from hardware.link import ConveyorLink, LinkSettings
from hardware.messages import Divert, Nack, NackReason, Welcome, decode_message
from hardware.simulator import ItemFate, SimSettings, SimulatorRunner

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

# A short, fast belt: an item reaches the camera 50 ms after entry, the gate 500 ms later.
FAST = SimSettings(speed_m_s=2.0, spacing_m=0.3, camera_pos_m=0.1, divert_pos_m=1.1, confirm_delay_s=0.05)
LINK = LinkSettings(reconnect_backoff_s=0.1, reconnect_backoff_max_s=0.4)


@dataclass
class Station:
    """A minimal station: records every event, optionally answers items at the camera."""

    link: ConveyorLink | None = None
    events: queue.Queue[ev.Event] = field(default_factory=queue.Queue)
    seen: list[ev.Event] = field(default_factory=list)
    decide: Callable[[ev.ItemAtCamera], int | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, event: ev.Event) -> None:
        with self.lock:
            self.seen.append(event)
        self.events.put(event)
        if isinstance(event, ev.ItemAtCamera) and self.decide is not None and self.link is not None:
            lane = self.decide(event)
            if lane is not None:
                self.link.divert(event.item_id, lane, event.boot_id)

    def wait_for(self, kind: type, timeout: float = 5.0,
                 where: Callable[[ev.Event], bool] | None = None) -> ev.Event:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {self.kinds()}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if isinstance(event, kind) and (where is None or where(event)):
                return event

    def kinds(self) -> list[str]:
        with self.lock:
            return [type(e).__name__ for e in self.seen]

    def of(self, kind: type) -> list[ev.Event]:
        with self.lock:
            return [e for e in self.seen if isinstance(e, kind)]


@pytest.fixture
def rig() -> Iterator[tuple[SimulatorRunner, Station, Callable[[SimSettings], ConveyorLink]]]:
    runners: list[SimulatorRunner] = []
    links: list[ConveyorLink] = []
    station = Station()

    def start(settings: SimSettings) -> ConveyorLink:
        runner = SimulatorRunner(settings)
        runners.append(runner)
        port = runner.start()
        link = ConveyorLink(port, LINK, station.on_event)
        station.link = link
        links.append(link)
        link.start()
        return link

    yield runners, station, start
    for link in links:
        link.stop()
    for runner in runners:
        runner.stop()


def _wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_items_go_to_the_commanded_lanes_and_confirmations_match(rig) -> None:
    runners, station, start = rig
    station.decide = lambda e: 1 + e.item_id % 4
    start(FAST.__class__(**{**FAST.__dict__, "items": 12}))
    sim = runners[0]
    _wait(sim.controller.done, 10)
    _wait(lambda: len(station.of(ev.Diverted)) == 12)
    truth = {t.item_id: t for t in sim.controller.truth}
    for d in station.of(ev.Diverted):
        assert d.lane == truth[d.item_id].lane == 1 + d.item_id % 4
        assert d.commanded
    assert len(station.of(ev.DivertAccepted)) == 12
    health = station.link.health()
    assert health.connected and health.rtt_ms_p50 is not None and health.crc_errors == 0


def test_a_late_divert_is_refused_too_late_and_the_item_takes_the_manual_lane(rig) -> None:
    _runners, station, start = rig
    start(FAST.__class__(**{**FAST.__dict__, "items": 1}))
    at_camera = station.wait_for(ev.ItemAtCamera)
    time.sleep(max(0.0, at_camera.deadline - time.monotonic()) + 0.03)
    station.link.divert(at_camera.item_id, 3, at_camera.boot_id)
    rejected = station.wait_for(ev.DivertRejected)
    assert rejected.reason == "TOO_LATE"
    diverted = station.wait_for(ev.Diverted)
    assert diverted.item_id == at_camera.item_id and diverted.lane == 0 and not diverted.commanded


def test_reboot_flushes_tracking_and_no_stale_command_reaches_the_new_boot(rig) -> None:
    runners, station, start = rig
    start(FAST)
    first = station.wait_for(ev.LinkUp)
    old_item = station.wait_for(ev.ItemAtCamera)
    runners[0].reboot()
    up = station.wait_for(ev.LinkUp, where=lambda e: e.boot_id != first.boot_id)
    assert up.new_boot
    # The station answers the old item after the reboot: refused here, never sent.
    station.link.divert(old_item.item_id, 2, old_item.boot_id)
    rejected = station.wait_for(ev.DivertRejected, where=lambda e: e.item_id == old_item.item_id)
    assert rejected.reason == "STALE_BOOT"
    new_item = station.wait_for(ev.ItemAtCamera, where=lambda e: e.boot_id == up.boot_id)
    assert new_item.item_id == 1  # item ids restart: only the boot id tells them apart
    time.sleep(0.5)
    with runners[0].lock:
        for truth in runners[0].controller.truth:
            if truth.boot_id == first.boot_id and truth.fate is ItemFate.LANE:
                assert truth.lane == 0 or truth.commanded_lane == truth.lane


def test_the_controller_refuses_a_divert_carrying_an_old_boot_id(rig) -> None:
    runners, station, start = rig
    start(FAST)
    up = station.wait_for(ev.LinkUp)
    station.link.stop()
    port = serial.Serial(str(runners[0].path), timeout=0.05, exclusive=True)
    try:
        # Speak the protocol by hand: wait for the re-announced HELLO, WELCOME it, send a stale DIVERT.
        buf = b""
        end = time.monotonic() + 3
        hello_seq = None
        while hello_seq is None and time.monotonic() < end:
            buf += port.read(256)
            for block in buf.split(b"\x00")[:-1]:
                try:
                    raw = decode_frame(block)
                except ValueError:
                    continue
                if raw.type == 0x10:
                    hello_seq = raw.seq
        assert hello_seq is not None
        port.write(encode_frame(Welcome.TYPE, 0, Welcome(up.boot_id, hello_seq).payload()))
        port.write(encode_frame(Divert.TYPE, 1, Divert(up.boot_id ^ 1, 1, 1).payload()))
        answers: list[object] = []
        end = time.monotonic() + 2
        buf = b""
        while time.monotonic() < end and not any(isinstance(a, Nack) for a in answers):
            buf += port.read(256)
            *blocks, buf = buf.split(b"\x00")
            for block in blocks:
                try:
                    raw = decode_frame(block)
                    answers.append(decode_message(raw.type, raw.payload))
                except ValueError:
                    continue
        assert Nack(1, NackReason.STALE_BOOT) in answers
    finally:
        port.close()


def test_unplug_and_replug_reconnect_with_backoff(rig) -> None:
    runners, station, start = rig
    link = start(FAST)
    first = station.wait_for(ev.LinkUp)
    runners[0].unplug()
    down = station.wait_for(ev.LinkDown)
    assert "port" in down.reason
    time.sleep(0.5)  # a few failed reopen attempts while the device is gone
    assert not link.connected
    runners[0].replug(reboot=False)
    again = station.wait_for(ev.LinkUp, timeout=5)
    assert again.boot_id == first.boot_id and not again.new_boot  # tracking kept: no reboot
    assert link.health().reconnects >= 2
    runners[0].unplug()
    station.wait_for(ev.LinkDown)
    runners[0].replug(reboot=True)  # a USB controller usually powers up again
    rebooted = station.wait_for(ev.LinkUp, timeout=5)
    assert rebooted.new_boot and rebooted.boot_id != first.boot_id


def test_the_port_is_opened_exclusively(rig) -> None:
    runners, station, start = rig
    start(FAST)
    station.wait_for(ev.LinkUp)
    with pytest.raises(serial.SerialException):
        serial.Serial(str(runners[0].path), exclusive=True)


def test_estop_stops_diverts_and_needs_an_explicit_clear(rig) -> None:
    runners, station, start = rig
    start(FAST)
    item = station.wait_for(ev.ItemAtCamera)
    runners[0].estop(hold_s=0.4)
    station.wait_for(ev.EStop)
    lost = station.wait_for(ev.Lost)
    assert lost.reason == "ESTOP"
    station.link.divert(item.item_id, 1, item.boot_id)
    assert station.wait_for(ev.DivertRejected).reason in ("STOPPED", "UNKNOWN_ITEM")
    assert station.link.clear()
    assert station.wait_for(ev.ClearRejected).reason == "STILL_ACTIVE"  # button still pressed
    time.sleep(0.5)
    with runners[0].lock:
        assert not runners[0].controller.running  # released, but nobody cleared it yet
    assert station.link.clear()
    station.wait_for(ev.Cleared)
    with runners[0].lock:
        assert runners[0].controller.running


def test_jam_reports_its_zone_and_the_items_on_the_belt_as_lost(rig) -> None:
    runners, station, start = rig
    start(FAST)
    station.wait_for(ev.ItemAtCamera)
    runners[0].jam(zone=3)
    assert station.wait_for(ev.Jam).zone == 3
    assert station.wait_for(ev.Lost).reason == "JAM"
    assert station.link.clear()
    station.wait_for(ev.Cleared)
    station.wait_for(ev.ItemAtCamera)  # the belt runs again


def test_host_silence_trips_the_controller_watchdog_to_safe_outputs(rig) -> None:
    runners, station, start = rig
    # A long run from camera to gate (1.5 s, longer than the ~1 s watchdog): items the station
    # routed just before it fell silent are still on their way when the controller trips.
    long_run = SimSettings(speed_m_s=2.0, spacing_m=0.3, camera_pos_m=0.1, divert_pos_m=3.1,
                           confirm_delay_s=0.05)
    travel_s = long_run.divert_pos_m / long_run.speed_m_s  # entry eye to gate
    decided: dict[int, int] = {}

    def decide(event: ev.ItemAtCamera) -> int:
        decided[event.item_id] = 1 + event.item_id % 4
        return decided[event.item_id]

    station.decide = decide
    start(long_run)
    up = station.wait_for(ev.LinkUp)
    sim = runners[0]
    _wait(lambda: len(decided) >= 12, 10)  # the belt full of routed items
    station.link.stop()  # the station hangs: no more heartbeats
    t0 = time.monotonic()
    _wait(lambda: sim.controller.safe, 3)
    tripped_at = time.monotonic()
    assert tripped_at - t0 >= 0.8  # the ~1 s watchdog, not earlier
    time.sleep(travel_s)  # every item routed before the silence reaches the gate
    with sim.lock:
        routed = [t for t in sim.controller.truth if t.gated and t.item_id in decided]
    # Routed and gated before the silence: their lanes. Gated once outputs were safe: the default
    # (manual) lane, whatever the station had commanded, since nobody is there to confirm them.
    before = [t for t in routed if t.entered_at + travel_s < t0 - 0.1]
    after = [t for t in routed if t.entered_at + travel_s > tripped_at + 0.1]
    assert before and after, (len(before), len(after))
    assert all(t.lane == decided[t.item_id] for t in before)
    assert all(t.lane == 0 for t in after)
    # A new link (same boot): the controller announced itself again and the session resumes.
    station2 = Station()
    link2 = ConveyorLink(str(sim.path), LINK, station2.on_event)
    link2.start()
    try:
        again = station2.wait_for(ev.LinkUp)
        assert again.boot_id == up.boot_id  # no reboot: only the session was renewed
    finally:
        link2.stop()


def test_controller_silence_is_detected_and_the_link_recovers(rig) -> None:
    runners, station, start = rig
    start(FAST)
    up = station.wait_for(ev.LinkUp)
    runners[0].silence(1.6)
    down = station.wait_for(ev.LinkDown, timeout=3)
    assert "no frame" in down.reason
    again = station.wait_for(ev.LinkUp, timeout=4)
    assert again.boot_id == up.boot_id and not again.new_boot


def test_corruption_and_drops_are_counted_and_survived(rig) -> None:
    from hardware.simulator import FaultSettings

    runners, station, start = rig
    station.decide = lambda e: 2
    # Faults at chosen frames, not at random ones, so that each happens whatever the machine's
    # load: the first copy of DIVERT seq 2 vanishes (the station must resend it), the
    # controller's 5th answer vanishes (the station must ask again, never assume its DIVERT was
    # accepted), event seq 3 arrives corrupted (counted, then resent by the controller).
    # Random faults are covered in simulated time (test_hw_controller_rules.py).
    faults = FaultSettings(drop_from_host_seqs=(2,), drop_answers=(5,), corrupt_to_host_seqs=(3,))
    start(FAST.__class__(**{**FAST.__dict__, "items": 15, "faults": faults, "seed": 3}))
    _wait(runners[0].controller.done, 30)
    _wait(lambda: len(station.of(ev.Diverted)) + len(station.of(ev.Lost)) >= 15, 5)
    with runners[0].lock:
        truth = {(t.boot_id, t.item_id): t for t in runners[0].controller.truth}
        injected = dict(runners[0].controller.injected)
    assert injected["dropped"] == 2 and injected["corrupted"] == 1
    assert all(t.lane in (0, 2) for t in truth.values() if t.fate is ItemFate.LANE)  # never a wrong lane
    # What the station was told matches where items went: an accepted DIVERT moved its item
    # to lane 2, and each confirmation names the lane the item really took.
    for accepted in station.of(ev.DivertAccepted):
        item = truth[(accepted.boot_id, accepted.item_id)]
        assert item.fate is not ItemFate.LANE or item.lane == 2, item
    for diverted in station.of(ev.Diverted):
        assert diverted.lane == truth[(diverted.boot_id, diverted.item_id)].lane
    # Most still get through (a lost frame may cost an item its deadline: it goes to manual).
    assert sum(t.lane == 2 for t in truth.values()) >= 5
    health = station.link.health()
    assert health.crc_errors + health.frame_errors > 0
    assert health.retransmits > 0


def test_start_conveyor_with_port_sim_runs_the_built_in_simulator() -> None:
    from hardware import LinkSettings as Settings
    from hardware import start_conveyor

    station = Station()
    link, sim = start_conveyor(Settings(port="sim"), station.on_event, FAST)
    try:
        assert sim is not None
        up = station.wait_for(ev.LinkUp)
        assert up.port == str(sim.path) and up.lane_count == 5
        station.wait_for(ev.ItemAtCamera)
    finally:
        link.stop()
        if sim is not None:
            sim.stop()
