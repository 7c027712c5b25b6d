"""A short look at a controller for `station doctor`: open the port, take its HELLO, answer
WELCOME, see one HEARTBEAT of the session, close.

Nothing is diverted and no event is acknowledged, so the controller's items keep going to
their default lane as if no host were there; after the probe closes the port, the
controller's watchdog ends the session and it says HELLO again to the next host.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import serial

from hardware.framing import FrameError, decode_frame, encode_frame
from hardware.messages import (
    HEARTBEAT_MS,
    Heartbeat,
    Hello,
    PayloadError,
    Welcome,
    decode_message,
    hello_problems,
)
from hardware.ports import find_port

logger = logging.getLogger(__name__)

__all__ = ["HelloProbeError", "HelloSeen", "probe_hello"]


class HelloProbeError(RuntimeError):
    """The controller could not be reached or did not answer; the message says what to check.

    `refused`: it answered, with a HELLO the station refuses (its settings, not the cable).
    """

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class HelloSeen:
    """What the controller said of itself, and whether the session came up."""

    path: str
    boot_id: int
    lane_count: int
    default_lane: int
    watchdog_ms: int
    minor_version: int
    session: bool  # a HEARTBEAT came after our WELCOME


def probe_hello(port: str, baudrate: int, usb_id: str = "", timeout_s: float = 6.5,
                heartbeat_ms: int = HEARTBEAT_MS) -> HelloSeen:
    """HELLO, WELCOME and a first HEARTBEAT on `port` (found by `usb_id` when it is not a path).

    Raises HelloProbeError when the port cannot be found or opened, or no HELLO comes in
    `timeout_s` (a controller resends its HELLO at least every 5 s until answered). A HELLO is
    judged against the station's own `heartbeat_ms` ([hardware] heartbeat_ms), as the station does.
    """
    path = find_port(port, usb_id)
    if path is None:
        raise HelloProbeError(_not_found(port, usb_id))
    try:
        link = serial.Serial(path, baudrate, timeout=0.05, write_timeout=0.5, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise HelloProbeError(f"cannot open {path}: {exc}") from None
    try:
        return _handshake(link, path, timeout_s, heartbeat_ms)
    finally:
        link.close()


def _handshake(link: serial.Serial, path: str, timeout_s: float, heartbeat_ms: int) -> HelloSeen:
    buf = bytearray()
    hello: Hello | None = None
    hello_seq = 0
    welcomed_at = 0.0
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        buf += link.read(link.in_waiting or 1)
        while b"\x00" in buf:
            block, _, rest = bytes(buf).partition(b"\x00")
            buf = bytearray(rest)
            if not block:
                continue
            try:
                raw = decode_frame(block)
                message = decode_message(raw.type, raw.payload)
            except (FrameError, PayloadError):
                continue  # the middle of a frame sent before we opened the port
            if isinstance(message, Hello) and hello is None:
                problems = hello_problems(message, heartbeat_ms)
                if problems:  # the station would refuse this controller: say why rather than welcome it
                    raise HelloProbeError(f"the controller on {path} announced a HELLO the station refuses: "
                                          f"{'; '.join(problems)}", refused=True)
                hello, hello_seq = message, raw.seq
                welcome = Welcome(message.boot_id, raw.seq)
                link.write(b"\x00" + encode_frame(Welcome.TYPE, 0, welcome.payload()))
                # A heartbeat of ours, so the controller counts the host as present.
                link.write(encode_frame(Heartbeat.TYPE, 0, Heartbeat(0).payload()))
                welcomed_at = time.monotonic()
                end = welcomed_at + 1.0  # a session heartbeats at least every 400 ms
            elif isinstance(message, Heartbeat) and hello is not None:
                return _seen(path, hello, True)
    if hello is None:
        raise HelloProbeError(f"no HELLO from {path} in {timeout_s:.1f} s")
    logger.info("controller on %s said HELLO (seq %d) but no heartbeat followed our WELCOME", path, hello_seq)
    return _seen(path, hello, False)


def _seen(path: str, hello: Hello, session: bool) -> HelloSeen:
    return HelloSeen(path, hello.boot_id, hello.lane_count, hello.default_lane, hello.watchdog_ms,
                     hello.minor_version, session)


def _not_found(port: str, usb_id: str) -> str:
    """Why no port was found: the path is not there, and no USB device has the controller's id."""
    if not usb_id:
        return f"no serial port {port!r} on this PC"
    missing = f"no serial port {port!r} on this PC, and " if port else ""
    return (f"{missing}no USB device with the id {usb_id} is plugged in (`lsusb` lists the ids of "
            "those that are)")
