"""Framing (PROTOCOL.md §2): COBS, CRC-16/CCITT-FALSE, the 4-byte header, 0x00 delimiter.

Written for MicroPython: bytes/bytearray and `struct` only, no exceptions on the receive
path (a bad frame is just None: it is dropped and counted, never answered).
"""

import struct

from .compat import const

VERSION = const(1)
MAX_FRAME = const(64)

# Message types (§6).
ACK = const(0x01)
NACK = const(0x02)
HEARTBEAT = const(0x03)
WELCOME = const(0x04)
RELIABLE_MIN = const(0x10)
HELLO = const(0x10)
ITEM_ENTERED = const(0x20)
ITEM_AT_CAMERA = const(0x21)
DIVERTED = const(0x22)
LOST = const(0x23)
JAM = const(0x24)
ESTOP = const(0x25)
CLEARED = const(0x26)
DIVERT = const(0x40)
CLEAR = const(0x41)

# NACK reasons.
TOO_LATE = const(0x01)
UNKNOWN_ITEM = const(0x02)
BAD_LANE = const(0x03)
CONFLICT = const(0x04)
STOPPED = const(0x05)
STALE_BOOT = const(0x06)
STILL_ACTIVE = const(0x07)
UNSUPPORTED = const(0x08)
BAD_HELLO = const(0x09)

# LOST reasons.
LOST_NOT_CONFIRMED = const(0x00)
LOST_JAM = const(0x01)
LOST_ESTOP = const(0x02)

# Capabilities.
CAP_CONFIRM_EYES = const(0x0001)
CAP_JAM_DETECT = const(0x0002)
CAP_ESTOP = const(0x0004)
CAP_ITEM_ENTERED = const(0x0008)


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


# 512 bytes of RAM for a byte-at-a-time CRC: cheap on an RP2040 / ESP32.
_TABLE = _crc_table()


def crc16(data: bytes | bytearray, end: int = -1) -> int:
    """CRC-16/CCITT-FALSE of data[:end] (all of it when end < 0); "123456789" gives 0x29B1."""
    if end < 0:
        end = len(data)
    crc = 0xFFFF
    table = _TABLE
    for i in range(end):
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ data[i]) & 0xFF]
    return crc


def cobs_encode(data: bytes | bytearray) -> bytearray:
    """COBS without the delimiter: the result holds no 0x00."""
    out = bytearray()
    code_at = 0
    out.append(0)
    code = 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
            continue
        out.append(byte)
        code += 1
        if code == 0xFF:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
    out[code_at] = code
    return out


def cobs_decode(block: bytes | bytearray) -> bytearray | None:
    """One COBS block (delimiter removed) decoded, or None when it is not valid COBS."""
    out = bytearray()
    i = 0
    n = len(block)
    while i < n:
        code = block[i]
        if code == 0 or i + code > n:
            return None
        out.extend(block[i + 1 : i + code])
        i += code
        if code != 0xFF and i < n:
            out.append(0)
    return out


def encode_frame(type_: int, seq: int, payload: bytes = b"") -> bytes:
    """The bytes to write for one frame, 0x00 delimiter included."""
    body = bytearray(struct.pack("<BBH", VERSION, type_, seq & 0xFFFF))
    body.extend(payload)
    body.extend(struct.pack("<H", crc16(body)))
    out = cobs_encode(body)
    out.append(0)
    return bytes(out)


class Frame:
    """A received frame whose COBS, length, CRC and version checked out."""

    def __init__(self, type_: int, seq: int, payload: bytes) -> None:
        self.type = type_
        self.seq = seq
        self.payload = payload


# decode_frame's verdicts for a block that is not a usable frame.
BAD_CRC = const(1)
BAD_FRAME = const(2)


def decode_frame(block: bytes | bytearray) -> Frame | int:
    """A Frame, or BAD_CRC / BAD_FRAME (COBS, length or version) for a block to drop."""
    if len(block) > MAX_FRAME + 2:
        return BAD_FRAME
    body = cobs_decode(block)
    if body is None or len(body) < 6 or len(body) > MAX_FRAME:
        return BAD_FRAME
    crc = body[-2] | (body[-1] << 8)
    if crc16(body, len(body) - 2) != crc:
        return BAD_CRC
    if body[0] != VERSION:
        return BAD_FRAME
    return Frame(body[1], body[2] | (body[3] << 8), bytes(body[4:-2]))
