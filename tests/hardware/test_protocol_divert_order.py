"""PROTOCOL.md §8 says in which order a controller checks a DIVERT (the self-test's S7 and S9
depend on it: a stale boot id is STALE_BOOT whatever the item, a bad lane BAD_LANE whatever
the item); the simulator and the reference firmware answer in that order."""

from __future__ import annotations

import re
from pathlib import Path

from hardware.firmware.hal import CAMERA, ENTRY, ESTOP
from hardware.messages import Ack, Clear, Divert, ItemAtCameraMsg, Nack, NackReason
from hardware.protocol import Acked, Connection, ProtocolEvent, Received, Rejected, Role
from hardware.simulator import ControllerSim, SimSettings
from tests.hardware.test_hw_firmware_tracker import BOOT, Bench

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "hardware" / "PROTOCOL.md"


def _documented_order() -> list[NackReason]:
    text = " ".join(PROTOCOL_MD.read_text(encoding="utf-8").split())
    found = re.search(r"checks a DIVERT \*\*in this order\*\* and NACKs with the first that fails: "
                      r"([A-Z_, ]+)\.", text)
    assert found is not None, "PROTOCOL.md §8 must say in which order a controller checks a DIVERT"
    return [NackReason[name.strip()] for name in found.group(1).split(",")]


class _Line:
    """The simulated controller and a host Connection, bytes passed by hand, 1 ms at a time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sim = ControllerSim(SimSettings(boot_id_seed=7), self.now)
        self.host = Connection(Role.HOST, self.now)
        self.events: list[ProtocolEvent] = []
        self.run(0.01)

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += 0.001
            self.sim.step(self.now)
            self.host.receive_data(self.sim.outgoing(self.now), self.now)
            self.host.tick(self.now)
            self.sim.feed(self.host.data_to_send(), self.now)
            self.events += self.host.events()

    def answer(self, command: Divert | Clear) -> NackReason | None:
        seq = self.host.send(command, self.now)
        self.run(0.005)
        for event in self.events:
            if isinstance(event, Acked) and event.seq == seq:
                return None
            if isinstance(event, Rejected) and event.seq == seq:
                return NackReason(event.reason)
        raise AssertionError(f"no answer to {command}")

    def next_item_at_camera(self) -> ItemAtCameraMsg:
        seen = len(self.events)
        for _ in range(1000):
            self.run(0.001)
            for event in self.events[seen:]:
                if isinstance(event, Received) and isinstance(event.message, ItemAtCameraMsg):
                    return event.message
            seen = len(self.events)
        raise AssertionError("no item reached the camera")


def test_the_simulator_checks_a_divert_in_the_documented_order() -> None:
    line = _Line()
    line.run(0.3)
    boot = line.sim.boot_id
    line.sim.jam(1, line.now)  # stopped, and every item on the belt is gone
    observed = [line.answer(Divert(boot ^ 1, 99, 9)), line.answer(Divert(boot, 99, 9))]
    assert line.answer(Clear()) is None
    observed += [line.answer(Divert(boot, 99, 9)), line.answer(Divert(boot, 99, 1))]
    item = line.next_item_at_camera()
    assert line.answer(Divert(boot, item.item_id, 1)) is None
    conflict = line.answer(Divert(boot, item.item_id, 2))  # in time: only the lane is wrong
    line.run(item.deadline_ms / 1000 + 0.005)  # past its deadline, not yet at the gate
    observed += [line.answer(Divert(boot, item.item_id, 2)), conflict]  # late and another lane
    assert observed == _documented_order()


def test_the_firmware_checks_a_divert_in_the_documented_order() -> None:
    b = Bench()
    b.edge(ESTOP, True, 10)

    def answer(message: Divert | Clear) -> NackReason | None:
        seq = b.send(message)
        got = [m for m in b.messages() if isinstance(m, Ack | Nack) and m.seq == seq]
        assert len(got) == 1, got
        return NackReason(got[0].reason) if isinstance(got[0], Nack) else None

    observed = [answer(Divert(BOOT ^ 1, 99, 9)), answer(Divert(BOOT, 99, 9))]
    b.edge(ESTOP, False, 100)
    assert answer(Clear()) is None
    observed += [answer(Divert(BOOT, 99, 9)), answer(Divert(BOOT, 99, 1))]
    b.edge(ENTRY, True, 200)
    b.edge(ENTRY, False, 250)
    b.edge(CAMERA, True, 450)
    assert answer(Divert(BOOT, 1, 3)) is None
    conflict = answer(Divert(BOOT, 1, 2))
    b.step(450 + 750 - 50 + 1)  # a millisecond past item 1's deadline
    observed += [answer(Divert(BOOT, 1, 2)), conflict]
    assert observed == _documented_order()
