"""The hardware layer: the only module that touches pins, the UART and the clock.

`MachineHal` drives a MicroPython board (machine.UART, machine.Pin with edge interrupts,
time.ticks_ms). `SimHal` runs the same firmware under CPython: a pseudo-terminal is the
UART and a simulated belt drives the eyes and reads the solenoids (`simbelt.SimHal`: PC only). To port
the firmware to another board, write one more subclass of `Hal` (README.md).
"""

from .compat import const

try:
    from typing import TYPE_CHECKING
except ImportError:  # MicroPython has no typing module
    TYPE_CHECKING = False  # type: ignore[misc]

if TYPE_CHECKING:
    from .config import Config

# Input sources of an edge (the tracker's vocabulary).
ENTRY = const(0)
CAMERA = const(1)
GATE = const(2)
CONFIRM = const(3)  # index = lane
JAM = const(4)
ESTOP = const(5)


class Hal:
    """What the firmware needs from a board."""

    def ticks_ms(self) -> int:
        """A millisecond clock that wraps at compat.TICKS_PERIOD."""
        raise NotImplementedError

    def idle(self, ms: int) -> None:
        """Wait up to `ms` (less when UART bytes arrive)."""
        raise NotImplementedError

    def running(self) -> bool:
        """False when the main loop must end (never on a board)."""
        return True

    def uart_read(self) -> bytes | None:
        """Bytes received since the last call, or None."""
        raise NotImplementedError

    def uart_write(self, data: bytes) -> None:
        """Send bytes to the station."""
        raise NotImplementedError

    def edges(self) -> list[tuple[int, int, bool, int]]:
        """Input edges latched since the last call: (source, index, active, tick), oldest first."""
        raise NotImplementedError

    def active(self, source: int, index: int) -> bool:
        """The input's level now (True = beam broken, button pressed, jam sensed)."""
        raise NotImplementedError

    def set_gate(self, lane: int) -> None:
        """Energise the solenoid of `lane`, release the others (a lane without one: all off)."""
        raise NotImplementedError

    def set_motor(self, on: bool) -> None:
        """Belt motor contactor."""
        raise NotImplementedError

    def set_led(self, on: bool) -> None:
        """Status LED: lit during a session with the station."""

    def new_boot_id(self) -> int:
        """A random 32-bit boot id, never 0 and never the previous boot's (PROTOCOL.md §5)."""
        raise NotImplementedError

    def log(self, message: str) -> None:
        """A line for whoever watches the board (the USB REPL, or the PC's log)."""
        print("conveyor:", message)


class MachineHal(Hal):
    """An RP2040 / ESP32 class board under MicroPython."""

    BOOT_ID_FILE = "/boot_id"

    def __init__(self, config: "Config") -> None:
        import machine  # type: ignore[import-not-found]  # only on the board

        self._time = __import__("time")
        p = config.pins
        self._uart = machine.UART(p.uart_id, baudrate=config.baudrate, tx=machine.Pin(p.uart_tx),
                                  rx=machine.Pin(p.uart_rx), rxbuf=512, timeout=0)
        self._edges: list[tuple[int, int, bool, int]] = []
        self._inputs: dict[tuple[int, int], tuple[object, bool]] = {}

        def watch(source: int, index: int, pin_no: int | None, active_low: bool) -> None:
            if pin_no is None:
                return
            pin = machine.Pin(pin_no, machine.Pin.IN, machine.Pin.PULL_UP)
            self._inputs[(source, index)] = (pin, active_low)

            def on_edge(p: object) -> None:
                # Soft IRQ: allocation is allowed; the tick is taken here, not in the main loop.
                level = bool(p.value()) != active_low  # type: ignore[attr-defined]
                self._edges.append((source, index, level, self._time.ticks_ms()))

            pin.irq(handler=on_edge, trigger=machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)

        watch(ENTRY, 0, p.entry_eye, p.eyes_active_low)
        watch(CAMERA, 0, p.camera_eye, p.eyes_active_low)
        watch(GATE, 0, p.gate_eye, p.eyes_active_low)
        for lane, pin_no in enumerate(p.confirm_eyes):
            watch(CONFIRM, lane, pin_no, p.eyes_active_low)
        watch(JAM, 0, p.jam, p.jam_active_low)
        watch(ESTOP, 0, p.estop, p.estop_active_low)
        out = machine.Pin.OUT
        self._solenoids = [None if n is None else machine.Pin(n, out, value=0) for n in p.solenoids]
        self._motor = machine.Pin(p.motor, machine.Pin.OUT, value=0)
        self._led = None if p.led is None else machine.Pin(p.led, machine.Pin.OUT, value=0)
        self._machine = machine

    def ticks_ms(self) -> int:
        return int(self._time.ticks_ms())

    def idle(self, ms: int) -> None:
        self._time.sleep_ms(ms)

    def uart_read(self) -> bytes | None:
        if not self._uart.any():
            return None
        data = self._uart.read()
        return bytes(data) if data else None

    def uart_write(self, data: bytes) -> None:
        self._uart.write(data)

    def edges(self) -> list[tuple[int, int, bool, int]]:
        state = self._machine.disable_irq()
        out = self._edges
        self._edges = []
        self._machine.enable_irq(state)
        return out

    def active(self, source: int, index: int) -> bool:
        entry = self._inputs.get((source, index))
        if entry is None:
            return False
        pin, active_low = entry
        return bool(pin.value()) != active_low  # type: ignore[attr-defined]

    def set_gate(self, lane: int) -> None:
        for n, pin in enumerate(self._solenoids):
            if pin is not None:
                pin.value(1 if n == lane else 0)

    def set_motor(self, on: bool) -> None:
        self._motor.value(1 if on else 0)

    def set_led(self, on: bool) -> None:
        if self._led is not None:
            self._led.value(1 if on else 0)

    def new_boot_id(self) -> int:
        import os

        last = 0
        try:
            with open(self.BOOT_ID_FILE) as f:
                last = int(f.read() or "0")
        except (OSError, ValueError):
            pass
        while True:
            b = os.urandom(4)  # the ring oscillator (RP2040) or the RF noise (ESP32)
            boot_id = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
            if boot_id not in (0, last):
                break
        try:
            with open(self.BOOT_ID_FILE, "w") as f:
                f.write(str(boot_id))
        except OSError:
            pass  # a read-only filesystem: the random source alone keeps boots apart
        return boot_id
