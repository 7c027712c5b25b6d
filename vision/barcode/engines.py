"""The two decoders behind the reader, each turned into `RawRead`s named in the project's terms.

zxing-cpp and zbar disagree on names (zxing calls a UPC-A "EAN-13", zbar calls ITF "I25"),
on how a UPC-E is spelled (13-digit expansion or 8 digits) and on GS1 markers; this module
is the one place that knows those quirks. Nothing here judges a read: `interpret` does.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import zxingcpp
from pyzbar import wrapper as zbw

from vision.barcode.formats import GS1_ONLY

__all__ = ["ENGINES", "RawRead", "ZbarEngine", "ZxingEngine", "classify_ean", "code39_full_ascii"]

logger = logging.getLogger(__name__)

ENGINES = ("zxing", "zbar")

FloatQuad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class RawRead:
    """One decode by one engine, before any check: `content` is digits for EAN/UPC as printed,
    the raw element string (GS = 0x1D) for GS1 symbols, the decoded text otherwise."""

    engine: str
    format: str
    content: str
    gs1: bool
    quad: FloatQuad
    symbology: str = ""
    error: str = ""  # the engine's own complaint (zxing: checksum error)


def classify_ean(digits: str) -> tuple[str, str]:
    """An EAN-13 starting with 0 is the same symbol as a UPC-A: name it so and print 12 digits."""
    if len(digits) == 13 and digits.startswith("0"):
        return "UPCA", digits[1:]
    if len(digits) == 12:
        return "UPCA", digits
    return "EAN13", digits


def _full_ascii_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        table["$" + ch] = chr(1 + i)  # control characters 0x01-0x1A
        table["+" + ch] = ch.lower()
    for i, ch in enumerate("ABCDEFGHIJKLMNO"):
        table["/" + ch] = "!\"#$%&'()*+,-./"[i]
    table["/Z"] = ":"
    for i, ch in enumerate("ABCDE"):
        table["%" + ch] = chr(0x1B + i)
    for i, ch in enumerate("FGHIJ"):
        table["%" + ch] = ";<=>?"[i]
    for i, ch in enumerate("KLMNO"):
        table["%" + ch] = "[\\]^_"[i]
    for i, ch in enumerate("PQRST"):
        table["%" + ch] = "{|}~\x7f"[i]
    table["%U"] = "\x00"
    table["%V"] = "@"
    table["%W"] = "`"
    for ch in "XYZ":
        table["%" + ch] = "\x7f"
    return table


_CODE39_EXT = _full_ascii_table()


def code39_full_ascii(text: str) -> str:
    """Decode Code 39 full-ASCII pairs ("+A" -> "a") when every shift pair is valid, as zxing-cpp does.

    zbar returns the raw Code 39 characters; without this the two decoders would disagree
    on every extended symbol.
    """
    if not any(ch in "$%/+" for ch in text):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "$%/+":
            pair = text[i : i + 2]
            if pair not in _CODE39_EXT:
                return text  # not full ASCII: keep the standard reading
            out.append(_CODE39_EXT[pair])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- zxing-cpp

_F = zxingcpp.BarcodeFormat

_ZX_REQUEST: dict[str, tuple[zxingcpp.BarcodeFormat, ...]] = {
    # EAN-13 and UPC-A are one symbology to the decoder; `classify_ean` tells them apart.
    "EAN13": (_F.EAN13, _F.UPCA),
    "UPCA": (_F.EAN13, _F.UPCA),
    "EAN8": (_F.EAN8,),
    "UPCE": (_F.UPCE,),
    "Code128": (_F.Code128,),
    "Code39": (_F.Code39,),
    "ITF": (_F.ITF,),
    "DataBar": (_F.DataBarOmni, _F.DataBarStk, _F.DataBarStkOmni, _F.DataBarLtd),
    "DataBarExpanded": (_F.DataBarExp, _F.DataBarExpStk),
    "DataMatrix": (_F.DataMatrix,),
    "QRCode": (_F.QRCodeModel1, _F.QRCodeModel2),
    "PDF417": (_F.PDF417, _F.CompactPDF417),
}

_ZX_NAMES: dict[str, str] = {
    "EAN13": "EAN13", "UPCA": "EAN13", "EAN8": "EAN8", "UPCE": "UPCE", "Code128": "Code128",
    "Code39": "Code39", "Code39Std": "Code39", "Code39Ext": "Code39", "ITF": "ITF", "ITF14": "ITF",
    "DataBar": "DataBar", "DataBarOmni": "DataBar", "DataBarStk": "DataBar", "DataBarStkOmni": "DataBar",
    "DataBarLtd": "DataBar", "DataBarExp": "DataBarExpanded", "DataBarExpStk": "DataBarExpanded",
    "DataMatrix": "DataMatrix", "QRCode": "QRCode", "QRCodeModel1": "QRCode", "QRCodeModel2": "QRCode",
    "PDF417": "PDF417", "CompactPDF417": "PDF417",
}


class ZxingEngine:
    """zxing-cpp on a grey image, restricted to the formats asked for."""

    name = "zxing"

    def __init__(self, formats: Iterable[str]) -> None:
        wanted: list[zxingcpp.BarcodeFormat] = []
        for fmt in formats:
            for zx in _ZX_REQUEST[fmt]:
                if zx not in wanted:
                    wanted.append(zx)
        # The formats, not a zxingcpp.BarcodeFormats: that object is made for each call. One kept
        # here lives as long as the reader, often to interpreter exit, where nanobind reports it
        # (and its type) as leaked on stderr.
        self._formats = tuple(wanted) or None

    @property
    def active(self) -> bool:
        """False when none of the formats asked for is one this engine reads."""
        return self._formats is not None

    def decode(
        self,
        gray: np.ndarray,
        *,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = True,
        global_binarizer: bool = False,
    ) -> list[RawRead]:
        """Every symbol zxing-cpp finds in `gray`, including those that failed their checksum."""
        if self._formats is None:
            return []
        binarizer = (zxingcpp.Binarizer.GlobalHistogram if global_binarizer
                     else zxingcpp.Binarizer.LocalAverage)
        found = zxingcpp.read_barcodes(
            gray,
            formats=zxingcpp.BarcodeFormats(list(self._formats)),
            try_rotate=try_rotate,
            try_downscale=try_downscale,
            try_invert=try_invert,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=binarizer,
            return_errors=True,
        )
        reads: list[RawRead] = []
        for bc in found:
            read = self._convert(bc)
            if read is not None:
                reads.append(read)
        return reads

    def _convert(self, bc: zxingcpp.Barcode) -> RawRead | None:
        error = ""
        if bc.error is not None:
            # Only a checksum failure means "a symbol is there but the read is wrong"; format
            # errors are noise the decoder could not make sense of.
            if bc.error.type != zxingcpp.ErrorType.Checksum:
                return None
            error = f"zxing: {bc.error.message or 'checksum error'}"
        name = _ZX_NAMES.get(bc.format.name)
        if name is None:
            return None
        content = bc.text
        if not content and bc.bytes:
            # zxing leaves the text empty when it cannot transcode (unknown ECI); keep the bytes.
            try:
                content = bc.bytes.decode("utf-8")
            except UnicodeDecodeError:
                content = bc.bytes.decode("latin-1")
        if name == "EAN13":
            name, content = classify_ean(content)
        elif name == "UPCE":
            extra = bc.extra or {}
            printed = extra.get("UPCE") if isinstance(extra, dict) else None
            if not printed:
                return None
            content = str(printed)
        gs1 = bc.content_type == zxingcpp.ContentType.GS1 or name in GS1_ONLY
        p = bc.position
        quad: FloatQuad = (
            (float(p.top_left.x), float(p.top_left.y)),
            (float(p.top_right.x), float(p.top_right.y)),
            (float(p.bottom_right.x), float(p.bottom_right.y)),
            (float(p.bottom_left.x), float(p.bottom_left.y)),
        )
        return RawRead("zxing", name, content, gs1, quad, bc.symbology_identifier, error)


# ---------------------------------------------------------------- zbar

_Z = zbw.ZBarSymbol
_L800 = 808466521  # fourcc 'Y800': 8-bit grey

# zbar has no DataMatrix, and its PDF417 decoder is unfinished (it never returns data), so
# asking for it only costs time.
_ZB_REQUEST: dict[str, tuple[zbw.ZBarSymbol, ...]] = {
    "EAN13": (_Z.EAN13, _Z.UPCA),
    "UPCA": (_Z.EAN13, _Z.UPCA),
    "EAN8": (_Z.EAN8,),
    "UPCE": (_Z.UPCE,),
    "Code128": (_Z.CODE128,),
    "Code39": (_Z.CODE39,),
    "ITF": (_Z.I25,),
    "DataBar": (_Z.DATABAR,),
    "DataBarExpanded": (_Z.DATABAR_EXP,),
    "DataMatrix": (),
    "QRCode": (_Z.QRCODE,),
    "PDF417": (),
}

_ZB_NAMES: dict[str, str] = {
    "EAN13": "EAN13", "UPCA": "UPCA", "EAN8": "EAN8", "UPCE": "UPCE", "CODE128": "Code128",
    "CODE39": "Code39", "I25": "ITF", "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExpanded",
    "QRCODE": "QRCode",
}

# AIM symbology identifiers zbar does not report; the usual ones for each symbol.
_ZB_AIM = {"EAN13": "]E0", "UPCA": "]E0", "UPCE": "]E0", "EAN8": "]E4", "Code128": "]C0", "Code39": "]A0",
           "ITF": "]I0", "DataBar": "]e0", "DataBarExpanded": "]e0", "QRCode": "]Q1"}


def _order_quad(points: np.ndarray) -> FloatQuad:
    """Four points clockwise starting at the top-left-most one (image coordinates, y down)."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered = points[np.argsort(angles)]
    start = int(np.argmin(ordered[:, 0] + ordered[:, 1]))
    ordered = np.roll(ordered, -start, axis=0)
    return tuple((float(x), float(y)) for x, y in ordered)  # type: ignore[return-value]


class ZbarEngine:
    """zbar on a grey image, restricted to the formats asked for.

    Drives libzbar through pyzbar's ctypes bindings rather than `pyzbar.decode`, which
    fails on the whole image when zbar reports an orientation it does not know (zbar 0.23
    returns -1 for some symbols). A fresh zbar scanner per image: a reused one keeps decoder
    state from the previous image, which made reads depend on what was scanned before.
    """

    name = "zbar"

    def __init__(self, formats: Iterable[str], density: int = 1) -> None:
        """`density` N scans every Nth row and column: enough to re-read a known symbol, N times cheaper."""
        self._density = max(1, int(density))
        wanted: list[zbw.ZBarSymbol] = []
        for fmt in formats:
            for zb in _ZB_REQUEST[fmt]:
                if zb not in wanted:
                    wanted.append(zb)
        self._symbols = wanted

    @property
    def active(self) -> bool:
        """False when none of the formats asked for is one this engine reads."""
        return bool(self._symbols)

    def _new_scanner(self) -> Any:
        scanner = zbw.zbar_image_scanner_create()
        # Symbology 0 (ZBAR_NONE) addresses all of them at once: off, then ours on.
        zbw.zbar_image_scanner_set_config(scanner, zbw.ZBarSymbol.NONE, zbw.ZBarConfig.CFG_ENABLE, 0)
        for symbol in self._symbols:
            zbw.zbar_image_scanner_set_config(scanner, symbol, zbw.ZBarConfig.CFG_ENABLE, 1)
        if self._density != 1:
            for axis in (zbw.ZBarConfig.CFG_X_DENSITY, zbw.ZBarConfig.CFG_Y_DENSITY):
                zbw.zbar_image_scanner_set_config(scanner, zbw.ZBarSymbol.NONE, axis, self._density)
        return scanner

    def decode(self, gray: np.ndarray) -> list[RawRead]:
        """Every symbol zbar finds in `gray` (zbar reports only reads that passed its own checks)."""
        if not self._symbols:
            return []
        pixels = np.ascontiguousarray(gray, dtype=np.uint8)
        height, width = pixels.shape[:2]
        reads: list[RawRead] = []
        scanner = self._new_scanner()
        image = zbw.zbar_image_create()
        try:
            zbw.zbar_image_set_format(image, _L800)
            zbw.zbar_image_set_size(image, width, height)
            data = pixels.tobytes()  # kept referenced until zbar_image_destroy: zbar does not copy it
            address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p)
            zbw.zbar_image_set_data(image, address, len(data), None)
            if zbw.zbar_scan_image(scanner, image) < 0:
                raise RuntimeError("zbar refused a grey 8-bit image (libzbar0 too old or broken?)")
            symbol = zbw.zbar_image_first_symbol(image)
            while symbol:
                read = self._convert(symbol)
                if read is not None:
                    reads.append(read)
                symbol = zbw.zbar_symbol_next(symbol)
        finally:
            zbw.zbar_image_destroy(image)
            zbw.zbar_image_scanner_destroy(scanner)
        return reads

    @staticmethod
    def _convert(symbol: Any) -> RawRead | None:
        try:
            type_name = zbw.ZBarSymbol(symbol.contents.type).name
        except ValueError:
            return None
        name = _ZB_NAMES.get(type_name)
        if name is None:
            return None
        data = ctypes.string_at(zbw.zbar_symbol_get_data(symbol), zbw.zbar_symbol_get_data_length(symbol))
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            content = data.decode("latin-1")
        if name in ("EAN13", "UPCA"):
            name, content = classify_ean(content)
        elif name == "Code39":
            content = code39_full_ascii(content)
        n = zbw.zbar_symbol_get_loc_size(symbol)
        if n == 0:
            return None
        pts = np.array([(zbw.zbar_symbol_get_loc_x(symbol, i), zbw.zbar_symbol_get_loc_y(symbol, i))
                        for i in range(n)], dtype=np.float32)
        box = cv2.boxPoints(cv2.minAreaRect(pts))
        return RawRead("zbar", name, content, name in GS1_ONLY, _order_quad(box), _ZB_AIM[name])
