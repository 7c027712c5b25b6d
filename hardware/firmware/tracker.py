"""The belt: items numbered at the entry eye, followed eye to eye by time windows, the gate
set for the next item, DIVERT decided against its deadline, confirmations, jam and e-stop.

Every eye edge arrives with the tick it happened at (the HAL latches them in an interrupt).
An edge belongs to the oldest item expected at that eye when it falls within the item's
window (travel time ± `tolerance_pct`); anything else is a stray - an item put on by hand
or one still on the belt from before a reboot - and goes to the default lane unreported.
"""

import struct

from . import config as cfg
from . import wire
from .compat import ticks_add, ticks_diff
from .hal import CAMERA, CONFIRM, ENTRY, ESTOP, GATE, JAM, Hal
from .link import Commands, Link

_NONE = -1


class Item:
    """One item the controller tracks in this boot."""

    def __init__(self, item_id: int, entered_at: int) -> None:
        self.id = item_id
        self.entered_at = entered_at
        self.camera_at = 0
        self.seen_by_camera = False
        self.lane = _NONE  # the lane a DIVERT chose
        self.gate_lane = _NONE  # the lane the gate was set to when the item passed it
        self.gated_at = 0


class Tracker(Commands):
    """Items on the belt and the outputs that route them."""

    def __init__(self, config: cfg.Config, hal: Hal, boot_id: int, now: int) -> None:
        self.config = config
        self.hal = hal
        self.boot_id = boot_id
        self.link: Link | None = None
        self.running = True
        self.stopped_by = 0  # wire.JAM or wire.ESTOP while the belt is stopped
        self.next_id = 1  # item ids restart at 1 on every boot
        self.entered: list[Item] = []  # before the camera, oldest first
        self.to_gate: list[Item] = []  # seen by the camera, before the gate
        self.to_confirm: list[Item] = []  # through the gate, before a confirm eye
        self.by_id: dict[int, Item] = {}
        self.gate_lane = config.default_lane
        c2g = config.camera_to_gate_ms
        self.tol_camera = max(20, config.entry_to_camera_ms * config.tolerance_pct // 100)
        self.tol_gate = max(20, c2g * config.tolerance_pct // 100)
        hal.set_motor(True)
        hal.set_gate(config.default_lane)

    # ---- events to the host -------------------------------------------------------------

    def _emit(self, type_: int, payload: bytes, now: int) -> bool:
        return self.link is not None and self.link.send(type_, payload, now)

    def _lost(self, item: Item, reason: int, now: int) -> None:
        self.by_id.pop(item.id, None)
        self._emit(wire.LOST, struct.pack("<IB", item.id, reason), now)

    # ---- eyes and inputs ----------------------------------------------------------------

    def on_edge(self, source: int, index: int, active: bool, at: int, now: int) -> None:
        """An input changed at tick `at` (active = beam broken / button pressed)."""
        if source == GATE and not active:
            self.update_gate(now)  # the item has left the gate: set it for the next one
            return
        if not active:
            return
        if source == ENTRY:
            item = Item(self.next_id, at)
            self.next_id += 1
            self.entered.append(item)
            self.by_id[item.id] = item
            self._emit(wire.ITEM_ENTERED, struct.pack("<I", item.id), now)
        elif source == CAMERA:
            self._expire(at, now)
            if not self.entered or ticks_diff(at, self._camera_due(self.entered[0])) < -self.tol_camera:
                return  # a stray
            item = self.entered.pop(0)
            item.camera_at = at
            item.seen_by_camera = True
            self.to_gate.append(item)
            c = self.config
            left = c.camera_to_gate_ms - c.gate_setup_ms - c.tx_margin_ms - ticks_diff(now, at)
            self._emit(wire.ITEM_AT_CAMERA, struct.pack("<IH", item.id, max(0, left)), now)
        elif source == GATE:
            self._expire(at, now)
            if self.to_gate and ticks_diff(at, self._gate_due(self.to_gate[0])) >= -self.tol_gate:
                item = self.to_gate.pop(0)
                item.gate_lane = self.gate_lane
                item.gated_at = at
                self.to_confirm.append(item)
            elif self.gate_lane != self.config.default_lane:
                self.hal.log(f"an item nobody expected passed the gate set for lane {self.gate_lane}")
        elif source == CONFIRM:
            for i in range(len(self.to_confirm)):
                item = self.to_confirm[i]
                if item.gate_lane == index:
                    del self.to_confirm[i]
                    self.by_id.pop(item.id, None)
                    commanded = 1 if item.lane == index else 0
                    self._emit(wire.DIVERTED, struct.pack("<IBB", item.id, index, commanded), now)
                    return
        elif source == JAM:
            self._stop(wire.JAM, wire.LOST_JAM, struct.pack("<B", self.config.jam_zone), now)
        elif source == ESTOP:
            self._stop(wire.ESTOP, wire.LOST_ESTOP, b"", now)

    def _camera_due(self, item: Item) -> int:
        return ticks_add(item.entered_at, self.config.entry_to_camera_ms)

    def _gate_due(self, item: Item) -> int:
        return ticks_add(item.camera_at, self.config.camera_to_gate_ms)

    def _expire(self, at: int, now: int) -> None:
        """Items an eye should have seen by `at` and did not: reported lost."""
        while self.entered and ticks_diff(at, self._camera_due(self.entered[0])) > self.tol_camera:
            self._lost(self.entered.pop(0), wire.LOST_NOT_CONFIRMED, now)
        while self.to_gate and ticks_diff(at, self._gate_due(self.to_gate[0])) > self.tol_gate:
            self._lost(self.to_gate.pop(0), wire.LOST_NOT_CONFIRMED, now)
        window = self.config.confirm_window_ms
        while self.to_confirm and ticks_diff(at, self.to_confirm[0].gated_at) > window:
            self._lost(self.to_confirm.pop(0), wire.LOST_NOT_CONFIRMED, now)

    def _stop(self, event: int, reason: int, payload: bytes, now: int) -> None:
        if not self.running:
            return
        self.running = False
        self.stopped_by = event
        self.hal.set_motor(False)
        self._emit(event, payload, now)
        # Operators take every item before the gate off by hand.
        for item in self.entered + self.to_gate:
            self._lost(item, reason, now)
        self.entered = []
        self.to_gate = []
        self.update_gate(now)

    # ---- the gate -----------------------------------------------------------------------

    def update_gate(self, now: int) -> None:
        """Set the gate for the next item: its commanded lane once it is near, else the default."""
        if self.hal.active(GATE, 0):
            return  # never move the gate under an item
        lane = self.config.default_lane
        if self.running and self.link is not None and self.link.established and self.to_gate:
            head = self.to_gate[0]
            arm_at = ticks_add(self._gate_due(head), -self.tol_gate)
            if head.lane != _NONE and ticks_diff(now, arm_at) >= 0:
                lane = head.lane
        if lane != self.gate_lane:
            self.gate_lane = lane
            self.hal.set_gate(lane)

    def tick(self, now: int) -> None:
        """Expire items whose eye never saw them; move the gate when the next item nears."""
        self._expire(now, now)
        self.update_gate(now)

    # ---- commands from the host (Commands) ----------------------------------------------

    def command(self, type_: int, payload: bytes, now: int) -> int:
        """DIVERT and CLEAR; any other reliable type is UNSUPPORTED (§4)."""
        if type_ == wire.DIVERT and len(payload) >= 9:
            boot_id, item_id, lane = struct.unpack("<IIB", payload[:9])
            return self._divert(boot_id, item_id, lane, now)
        if type_ == wire.CLEAR:
            return self._clear(now)
        return wire.UNSUPPORTED

    def _divert(self, boot_id: int, item_id: int, lane: int, now: int) -> int:
        if boot_id != self.boot_id:
            return wire.STALE_BOOT
        if not self.running:
            return wire.STOPPED
        if lane >= self.config.lane_count:
            return wire.BAD_LANE
        item = self.by_id.get(item_id)
        if item is None:
            return wire.UNKNOWN_ITEM
        self._expire(now, now)
        if item.id not in self.by_id:
            return wire.UNKNOWN_ITEM
        deadline = ticks_add(self._gate_due(item), -self.config.gate_setup_ms)
        late = item.gate_lane != _NONE or (item.seen_by_camera and ticks_diff(now, deadline) > 0)
        if late:
            return wire.TOO_LATE  # never applied, to this item or any other
        if item.lane not in (_NONE, lane):
            return wire.CONFLICT
        item.lane = lane  # the same command again changes nothing
        return 0

    def _clear(self, now: int) -> int:
        if self.running:
            return 0  # nothing stopped: ACK and CLEARED so that both ends agree
        if self.hal.active(JAM, 0) or self.hal.active(ESTOP, 0):
            return wire.STILL_ACTIVE
        self.running = True
        self.stopped_by = 0
        self.hal.set_motor(True)
        return 0

    def answered(self, type_: int, reason: int, now: int) -> None:
        """CLEAR's ACK is followed by CLEARED; an accepted DIVERT may set the gate at once."""
        if type_ == wire.CLEAR and not reason:
            self._emit(wire.CLEARED, b"", now)
        elif type_ == wire.DIVERT and not reason:
            self.update_gate(now)

    def session_changed(self, established: bool, now: int) -> None:
        """No session: safe outputs, every item from now on takes the default lane (§7)."""
        self.hal.set_led(established)
        if not established:
            for item in self.to_gate + self.entered:
                item.lane = _NONE
        self.update_gate(now)
