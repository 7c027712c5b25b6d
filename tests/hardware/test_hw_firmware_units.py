"""The firmware's own pieces, without a pty: its framing agrees with the station's byte for
byte, its clock survives the tick wrap, and the files that go on the board import only what
MicroPython has (never the station, never the rest of hardware/)."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import framing
from hardware.firmware import wire
from hardware.firmware.compat import TICKS_PERIOD, ticks_add, ticks_diff
from hardware.firmware.config import Config

FIRMWARE = Path(wire.__file__).parent
# Files copied to the board (simbelt.py is the PC's simulated line and never goes there).
BOARD_FILES = ["__init__.py", "compat.py", "wire.py", "config.py", "link.py", "tracker.py", "hal.py",
               "app.py", "main.py"]
# Modules a MicroPython RP2040 / ESP32 build has (typing is imported inside a try).
MICROPYTHON = {"struct", "sys", "os", "time", "machine", "micropython", "typing"}
# Imported only inside SimHal's methods, which never run on a board.
PC_ONLY_IN_FUNCTIONS = {"random", "threading", "select", "logging", "signal"}


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.binary(max_size=58))
def test_frames_match_the_station_byte_for_byte(type_: int, seq: int, payload: bytes) -> None:
    data = wire.encode_frame(type_, seq, payload)
    assert data == framing.encode_frame(type_, seq, payload)
    frame = wire.decode_frame(data[:-1])
    assert isinstance(frame, wire.Frame)
    assert (frame.type, frame.seq, frame.payload) == (type_, seq, payload)


def test_protocol_examples_and_bad_frames() -> None:
    assert wire.crc16(b"123456789") == 0x29B1
    # PROTOCOL.md §13: HELLO seq 1 and DIVERT seq 5 on the wire.
    hello = bytes.fromhex("04 01 10 01 05 78 56 34 12 02 0f 02 05 05 e8 03 45 e5 00")
    assert wire.encode_frame(wire.HELLO, 1, bytes.fromhex("78563412 00 0f00 05 00 e803")) == hello
    divert = bytes.fromhex("04 01 40 05 06 78 56 34 12 11 01 01 04 02 6c 77 00")
    frame = wire.decode_frame(divert[:-1])
    assert isinstance(frame, wire.Frame) and frame.type == wire.DIVERT and frame.seq == 5
    flipped = bytearray(divert[:-1])
    flipped[-1] ^= 0x01
    assert wire.decode_frame(bytes(flipped)) == wire.BAD_CRC
    assert wire.decode_frame(b"\x09\x01") == wire.BAD_FRAME  # a block running past its end
    assert wire.decode_frame(bytes(80)) == wire.BAD_FRAME


def test_ticks_survive_the_wrap() -> None:
    near_end = TICKS_PERIOD - 5
    later = ticks_add(near_end, 20)
    assert later == 15
    assert ticks_diff(later, near_end) == 20
    assert ticks_diff(near_end, later) == -20


def test_config_names_what_the_station_refuses() -> None:
    assert Config().problems() == []
    problems = Config(lane_count=0, watchdog_ms=1).problems()
    assert any("LANE_COUNT 0" in p for p in problems)
    assert any("WATCHDOG_MS 1" in p for p in problems)


def test_board_files_import_only_what_micropython_has() -> None:
    for name in BOARD_FILES:
        tree = ast.parse((FIRMWARE / name).read_text(), name)
        top_level = set()
        for node in tree.body:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    names = [a.name.split(".")[0] for a in sub.names]
                elif isinstance(sub, ast.ImportFrom):
                    if sub.level:  # relative: the firmware's own modules
                        continue
                    names = [(sub.module or "").split(".")[0]]
                else:
                    continue
                inside_function = not any(sub is n for n in tree.body) and isinstance(
                    node, ast.FunctionDef | ast.ClassDef)
                for module in names:
                    assert module not in ("station", "hardware", "vision", "sync"), (name, module)
                    if inside_function:
                        assert module in MICROPYTHON | PC_ONLY_IN_FUNCTIONS, (name, module)
                    else:
                        top_level.add(module)
        assert top_level <= MICROPYTHON, (name, top_level - MICROPYTHON)
