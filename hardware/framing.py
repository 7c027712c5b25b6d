"""Frames on the wire: COBS-encoded, 0x00-delimited, CRC-16/CCITT-FALSE protected.

A decoded frame is ``version u8 | type u8 | seq u16le | payload | crc u16le``; the CRC
covers everything before it. COBS removes every 0x00 from the frame so a single 0x00
ends it, which lets a receiver resynchronise after any garbage at the next delimiter.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "HEADER",
    "MAX_FRAME",
    "PROTOCOL_VERSION",
    "FrameError",
    "FrameErrorKind",
    "RawFrame",
    "cobs_decode",
    "cobs_encode",
    "crc16",
    "decode_frame",
    "encode_frame",
]

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBH")
_CRC = struct.Struct("<H")
# Largest decoded frame (header + payload + CRC) either side must accept; small enough for
# an 8-bit controller's receive buffer.
MAX_FRAME = 64


class FrameErrorKind(Enum):
    """Why a received frame was dropped."""

    COBS = "cobs"  # not valid COBS (line noise, a lost byte)
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    CRC = "crc"
    VERSION = "version"


class FrameError(ValueError):
    """A received frame that cannot be used; `kind` says why."""

    def __init__(self, kind: FrameErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind


@dataclass(frozen=True)
class RawFrame:
    """A frame whose CRC and version checked out; the payload is not parsed yet."""

    type: int
    seq: int
    payload: bytes


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout)."""
    return binascii.crc_hqx(data, 0xFFFF)


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode `data` (the result holds no 0x00 byte; the delimiter is not added)."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block (without its delimiter); raises FrameError(COBS) if malformed."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError(FrameErrorKind.COBS, "zero byte inside a frame")
        end = i + code
        if end > n:
            raise FrameError(FrameErrorKind.COBS, "block runs past the end of the frame")
        block = data[i + 1 : end]
        if 0 in block:
            raise FrameError(FrameErrorKind.COBS, "zero byte inside a frame")
        out += block
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(type_: int, seq: int, payload: bytes = b"", version: int = PROTOCOL_VERSION) -> bytes:
    """The bytes to write for one frame, delimiter included."""
    body = HEADER.pack(version, type_, seq & 0xFFFF) + payload
    if len(body) + _CRC.size > MAX_FRAME:
        raise ValueError(f"frame of {len(body) + _CRC.size} bytes exceeds MAX_FRAME={MAX_FRAME}")
    body += _CRC.pack(crc16(body))
    return cobs_encode(body) + b"\x00"


def decode_frame(block: bytes) -> RawFrame:
    """Check and split one received block (the bytes between two 0x00 delimiters)."""
    # COBS adds at most one byte per 254 and one leading code byte.
    if len(block) > MAX_FRAME + 2:
        raise FrameError(FrameErrorKind.TOO_LONG, f"{len(block)} encoded bytes")
    body = cobs_decode(block)
    if len(body) < HEADER.size + _CRC.size:
        raise FrameError(FrameErrorKind.TOO_SHORT, f"{len(body)} bytes")
    if len(body) > MAX_FRAME:
        raise FrameError(FrameErrorKind.TOO_LONG, f"{len(body)} bytes")
    (crc,) = _CRC.unpack_from(body, len(body) - _CRC.size)
    if crc16(body[: -_CRC.size]) != crc:
        raise FrameError(FrameErrorKind.CRC)
    version, type_, seq = HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise FrameError(FrameErrorKind.VERSION, f"version {version}, this side speaks {PROTOCOL_VERSION}")
    return RawFrame(type_, seq, bytes(body[HEADER.size : -_CRC.size]))
