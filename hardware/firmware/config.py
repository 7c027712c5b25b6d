"""The controller's configuration: the belt's geometry in milliseconds, lanes, timers, pins.

Edit the defaults here for your conveyor (README.md says how to measure the times). The PC
tests build a `Config` with other values for the simulated belt.
"""

from .compat import const

# Protocol timers (PROTOCOL.md §4, §5, §7). The station expects these values.
HEARTBEAT_MS = const(200)
ACK_TIMEOUT_MS = const(50)
HELLO_INTERVAL_MS = const(250)
WINDOW = const(8)


class Pins:
    """GPIO numbers (RP2040 Pico defaults; README.md has the wiring). None = not fitted."""

    def __init__(self, uart_id: int = 0, uart_tx: int = 0, uart_rx: int = 1, entry_eye: int = 2,
                 camera_eye: int = 3, gate_eye: int = 4, confirm_eyes: tuple[int, ...] = (5, 6, 7, 8, 9),
                 solenoids: tuple[int | None, ...] = (None, 10, 11, 12, 13), motor: int = 14,
                 jam: int | None = 15, estop: int | None = 16, led: int | None = 25,
                 eyes_active_low: bool = True, jam_active_low: bool = True,
                 estop_active_low: bool = True) -> None:
        self.uart_id = uart_id
        self.uart_tx = uart_tx
        self.uart_rx = uart_rx
        self.entry_eye = entry_eye
        self.camera_eye = camera_eye
        self.gate_eye = gate_eye
        self.confirm_eyes = confirm_eyes  # one per lane, lane 0 first
        self.solenoids = solenoids  # one per lane; None: the lane needs no solenoid (straight on)
        self.motor = motor
        self.jam = jam
        self.estop = estop
        self.led = led
        # Most NPN photo-eyes pull the input low when the beam is broken.
        self.eyes_active_low = eyes_active_low
        self.jam_active_low = jam_active_low
        # An e-stop is wired normally closed: the input goes low... or high when pressed, per board.
        self.estop_active_low = estop_active_low


class Config:
    """Everything the firmware needs to know about its conveyor."""

    def __init__(self, lane_count: int = 5, default_lane: int = 0, watchdog_ms: int = 1000,
                 baudrate: int = 115200, entry_to_camera_ms: int = 250, camera_to_gate_ms: int = 750,
                 gate_setup_ms: int = 50, confirm_window_ms: int = 500, tolerance_pct: int = 20,
                 tx_margin_ms: int = 2, jam_zone: int = 1, pins: Pins | None = None) -> None:
        self.lane_count = lane_count
        self.default_lane = default_lane  # manual review: where every undecided item goes
        self.watchdog_ms = watchdog_ms
        self.baudrate = baudrate
        # Belt travel times at the belt's speed (distance / speed), measured on the line.
        self.entry_to_camera_ms = entry_to_camera_ms
        self.camera_to_gate_ms = camera_to_gate_ms
        self.gate_setup_ms = gate_setup_ms  # the gate must be set this long before the item arrives
        self.confirm_window_ms = confirm_window_ms  # gate eye to a lane's confirm eye, at most
        # An eye's edge belongs to the item expected there within this share of the travel time;
        # anything else is a stray (an item put on by hand, or one left from before a reboot).
        self.tolerance_pct = tolerance_pct
        self.tx_margin_ms = tx_margin_ms  # the ITEM_AT_CAMERA frame's time on the wire
        self.jam_zone = jam_zone
        self.pins = pins or Pins()

    def problems(self) -> list[str]:
        """What the station will refuse (PROTOCOL.md §12 S1) or the belt cannot do; [] when fine."""
        out = []
        if self.lane_count < 2:
            out.append(f"LANE_COUNT {self.lane_count}: the station needs at least 2 lanes")
        if not 0 <= self.default_lane < self.lane_count:
            out.append(f"DEFAULT_LANE {self.default_lane} is not a lane (0..{self.lane_count - 1})")
        if not 500 <= self.watchdog_ms <= 5000:
            # Above two of the station's 200 ms heartbeats: one lost to noise must not end the session.
            out.append(f"WATCHDOG_MS {self.watchdog_ms}: the station accepts 500..5000")
        if len(self.pins.confirm_eyes) < self.lane_count or len(self.pins.solenoids) < self.lane_count:
            out.append(f"Pins: {self.lane_count} lanes need a confirm eye and a solenoid entry (None for "
                       "the straight-on lane) each")
        if self.camera_to_gate_ms - self.gate_setup_ms - self.tx_margin_ms <= 0:
            out.append("the gate is closer to the camera than its set-up time: no time to decide")
        return out
