"""Reading image files given on the command line, refusing what would hurt the station.

A PNG of a few hundred KB can declare 20000x20000 pixels and cost gigabytes once decoded,
so the size is read from the file's header (PNG, JPEG, TIFF, BMP, WebP) before OpenCV
decodes anything. 16-bit images are scaled to 8 bits, as every stage works on uint8.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 50_000_000
"""Largest image accepted (50 MP): a 1280x720 line frame is 0.9 MP, a 48 MP phone photo fits."""

MIN_IMAGE_SIDE = 16
"""Smallest width or height inspected: below this no code or defect can be seen."""


class ImageFileError(Exception):
    """An unusable image file; the message says what is wrong and what to do, the caller names the file."""


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] == b"II*\x00":
        endian = "<"
    elif data[:4] == b"MM\x00*":
        endian = ">"
    else:
        return None
    if len(data) < 8:
        return None
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    if ifd + 2 > len(data):
        return None
    (count,) = struct.unpack(endian + "H", data[ifd:ifd + 2])
    found: dict[int, int] = {}
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(data):
            break
        tag, kind = struct.unpack(endian + "HH", data[entry:entry + 4])
        if tag in (256, 257):
            if kind == 3:  # SHORT
                (value,) = struct.unpack(endian + "H", data[entry + 8:entry + 10])
            else:
                (value,) = struct.unpack(endian + "I", data[entry + 8:entry + 12])
            found[tag] = int(value)
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, TIFF, BMP or WebP header, None for another format."""
    for parse in (_png_size, _jpeg_size, _tiff_size, _bmp_size, _webp_size):
        try:
            size = parse(data)
        except struct.error:
            size = None
        if size is not None:
            return size
    return None


def _to_uint8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    if image.dtype == np.uint8:
        return np.asarray(image, dtype=np.uint8)
    if image.dtype == np.uint16:
        return np.asarray(image.astype(np.uint16) // 257, dtype=np.uint8)
    # Float or 32-bit images carry no fixed range: stretch what is there.
    as_float = image.astype(np.float64)
    low, high = float(as_float.min()), float(as_float.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    return np.asarray((as_float - low) * scale, dtype=np.uint8)


def load_image(path: Path, *, color: bool = True, max_pixels: int = MAX_IMAGE_PIXELS,
               min_side: int = 1) -> npt.NDArray[np.uint8]:
    """The image at `path` as uint8 (BGR when `color`, else as stored), or `ImageFileError`."""
    if not path.exists():
        raise ImageFileError("file not found: check the path")
    if path.is_dir():
        raise ImageFileError(f"it is a folder: pass the image files in it (e.g. {path}/*.png)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageFileError(f"cannot read it ({exc.strerror}): check its permissions") from exc
    if not data:
        raise ImageFileError("the file is empty (0 bytes): copy it again from its source")
    size = header_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageFileError(
            f"{size[0]}x{size[1]} pixels is more than the {max_pixels / 1e6:.0f} MP this station "
            "accepts: scale it down (a line frame is 1280x720)")
    flags = cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        logger.debug("decoding %s failed: %s", path, exc)
        decoded = None
    if decoded is None:
        raise ImageFileError("not a readable image: it is truncated or not an image OpenCV can decode; "
                             "pass a png, jpg, webp, bmp or tiff file")
    if size is None and decoded.shape[0] * decoded.shape[1] > max_pixels:
        raise ImageFileError(f"{decoded.shape[1]}x{decoded.shape[0]} pixels is more than the "
                             f"{max_pixels / 1e6:.0f} MP this station accepts: scale it down")
    height, width = decoded.shape[:2]
    if min(height, width) < min_side:
        raise ImageFileError(f"{width}x{height} pixels is too small to inspect "
                             f"(at least {min_side}x{min_side}): pass the full photo of the item")
    image = _to_uint8(decoded)
    if not color:
        return image
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    if image.shape[2] == 1:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    return image
