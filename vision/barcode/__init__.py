"""Barcode reading: zxing-cpp and zbar fused, GS1 parsing, hand-scanner lines.

`BarcodeReader(...).read(frame)` for camera frames, `parse_scanner_line(line)` for hand
scanners; both give `Code`s. Format names are the project's own (`BARCODE_FORMATS`).

The decoders (cv2, zxing-cpp, zbar) load on first use of a name that needs them, so that
`station.config` can import the format list without paying for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vision.barcode.formats import BARCODE_FORMATS

if TYPE_CHECKING:
    from vision.barcode.code import BarcodeRead, Code
    from vision.barcode.gs1 import GS1Error
    from vision.barcode.reader import BarcodeReader
    from vision.barcode.scanner import parse_scanner_line

__all__ = ["BARCODE_FORMATS", "BarcodeRead", "BarcodeReader", "Code", "GS1Error", "parse_scanner_line"]

_LAZY = {
    "BarcodeRead": "vision.barcode.code",
    "Code": "vision.barcode.code",
    "GS1Error": "vision.barcode.gs1",
    "BarcodeReader": "vision.barcode.reader",
    "parse_scanner_line": "vision.barcode.scanner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vision.barcode' has no attribute {name!r}")
