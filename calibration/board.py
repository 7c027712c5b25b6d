"""The ChArUco board: its description, the printable image at true size, and detection.

OpenCV 5 keeps the ArUco/ChArUco API in the objdetect module (`cv2.aruco.CharucoBoard`,
`cv2.aruco.CharucoDetector`); the old `cv2.aruco.calibrateCameraCharuco` is gone, so
calibration matches corners to board points with `CharucoBoard.matchImagePoints` and
calls `cv2.calibrateCamera` itself.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.errors import CalibrationError
from calibration.hints import Hint, HintCode, hint

__all__ = [
    "BoardDetection",
    "BoardSpec",
    "board_missing_hint",
    "detect_board",
    "diagnose_missing_board",
    "encode_png_with_dpi",
    "make_board",
    "render_board",
    "render_board_texture",
]

logger = logging.getLogger(__name__)

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class BoardSpec:
    """A ChArUco board: squares across and down, square and marker side in mm, ArUco dictionary."""

    squares_x: int = 7
    squares_y: int = 5
    square_mm: float = 30.0
    marker_mm: float = 22.0
    dictionary: str = "DICT_5X5_100"

    def __post_init__(self) -> None:
        if self.squares_x < 3 or self.squares_y < 3:
            raise CalibrationError(
                "board", f"{self.squares_x}x{self.squares_y} squares is too small",
                "use at least 3 squares across and down ([calibration] board_squares_x/y)",
            )
        if not 0 < self.marker_mm < self.square_mm:
            raise CalibrationError(
                "board", f"marker {self.marker_mm} mm must be smaller than the square {self.square_mm} mm",
                "set [calibration] board_marker_mm below board_square_mm (about 0.7x)",
            )
        if not self.dictionary.startswith("DICT_") or not hasattr(cv2.aruco, self.dictionary):
            raise CalibrationError(
                "board", f"unknown ArUco dictionary {self.dictionary!r}",
                "use one such as DICT_4X4_50, DICT_5X5_100, DICT_6X6_250 ([calibration] board_dictionary)",
            )
        markers = (self.squares_x * self.squares_y) // 2
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        if markers > dictionary.bytesList.shape[0]:
            raise CalibrationError(
                "board", f"{markers} markers do not fit in {self.dictionary}",
                "use a dictionary with more markers or a smaller board",
            )

    @property
    def width_mm(self) -> float:
        """Width of the chequered area."""
        return self.squares_x * self.square_mm

    @property
    def height_mm(self) -> float:
        """Height of the chequered area."""
        return self.squares_y * self.square_mm

    @property
    def corner_count(self) -> int:
        """Number of inner chessboard corners (the points calibration uses)."""
        return (self.squares_x - 1) * (self.squares_y - 1)

    def describe(self) -> str:
        """One line a person can compare with the printed board."""
        return (f"ChArUco {self.squares_x}x{self.squares_y} squares, square {self.square_mm:g} mm, "
                f"marker {self.marker_mm:g} mm, {self.dictionary}")


def make_board(spec: BoardSpec) -> cv2.aruco.CharucoBoard:
    """The OpenCV board object, in millimetres."""
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    size = (spec.squares_x, spec.squares_y)
    return cv2.aruco.CharucoBoard(size, spec.square_mm, spec.marker_mm, dictionary)


def render_board_texture(spec: BoardSpec, px_per_mm: float) -> npt.NDArray[np.uint8]:
    """The chequered area alone (no margin), grey, at `px_per_mm`; pixel (0, 0) is board (0, 0) mm."""
    width = round(spec.width_mm * px_per_mm)
    height = round(spec.height_mm * px_per_mm)
    image = make_board(spec).generateImage((width, height), marginSize=0, borderBits=1)
    return np.asarray(image, dtype=np.uint8)


def render_board(spec: BoardSpec, dpi: float = 300.0, margin_mm: float = 15.0) -> npt.NDArray[np.uint8]:
    """The printable board at true size for `dpi`, with its size and a 100 mm check bar printed below."""
    px_per_mm = dpi / MM_PER_INCH
    board = render_board_texture(spec, px_per_mm)
    margin = round(margin_mm * px_per_mm)
    caption_h = round(20.0 * px_per_mm)
    height = board.shape[0] + 2 * margin + caption_h
    width = max(board.shape[1] + 2 * margin, round(150 * px_per_mm))
    page = np.full((height, width), 255, dtype=np.uint8)
    x0 = (width - board.shape[1]) // 2
    page[margin:margin + board.shape[0], x0:x0 + board.shape[1]] = board

    # The caption: what the board is and how to check the print was not scaled.
    scale = 2.6 * px_per_mm / 22.0  # Hershey glyphs are ~22 units high at scale 1
    thickness = max(1, round(0.3 * px_per_mm))
    top = margin + board.shape[0] + round(7 * px_per_mm)
    lines = [
        spec.describe(),
        f"board {spec.width_mm:g} x {spec.height_mm:g} mm - print at 100 % ({dpi:g} dpi), measure the bar:",
    ]
    for number, text in enumerate(lines):
        y = top + round(number * 5.0 * px_per_mm)
        cv2.putText(page, text, (margin, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    bar_y = top + round(8.0 * px_per_mm)
    bar_len = round(100.0 * px_per_mm)
    bar_h = round(2.0 * px_per_mm)
    page[bar_y:bar_y + bar_h, margin:margin + bar_len] = 0
    for tick_mm in range(0, 101, 10):
        x = margin + min(bar_len - 1, round(tick_mm * px_per_mm))
        page[bar_y - bar_h:bar_y, x:x + thickness] = 0
    cv2.putText(page, "100 mm", (margin + bar_len + round(3 * px_per_mm), bar_y + bar_h),
                cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    return page


def encode_png_with_dpi(image: npt.NDArray[np.uint8], dpi: float) -> bytes:
    """PNG bytes carrying a pHYs chunk, so printers and viewers know the true size."""
    ok, buffer = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - encoding a valid uint8 array does not fail
        raise CalibrationError("board", "could not encode the PNG", "check free memory")
    data = buffer.tobytes()
    pixels_per_metre = round(dpi / 0.0254)
    body = b"pHYs" + struct.pack(">IIB", pixels_per_metre, pixels_per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature + IHDR length, type, data, crc
    return data[:ihdr_end] + chunk + data[ihdr_end:]


@dataclass(frozen=True)
class BoardDetection:
    """ChArUco corners found in one image: pixel positions and the matching board points in mm."""

    image_points: npt.NDArray[np.float32]  # (N, 2) pixels
    object_points: npt.NDArray[np.float32]  # (N, 3) mm on the board, z = 0
    ids: npt.NDArray[np.int32]  # (N,) corner ids
    markers: int  # ArUco markers of this board seen

    @property
    def count(self) -> int:
        """Number of corners found."""
        return int(self.ids.shape[0])


def _grey(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image.ndim == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    return image


def detect_board(image: npt.NDArray[np.uint8], spec: BoardSpec) -> BoardDetection:
    """Find the board's corners (sub-pixel); an image without the board gives `count == 0`."""
    board = make_board(spec)
    detector = cv2.aruco.CharucoDetector(board)
    params = detector.getDetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector.setDetectorParameters(params)
    corners, ids, _marker_corners, marker_ids = detector.detectBoard(_grey(image))
    markers = 0 if marker_ids is None else len(marker_ids)
    if corners is None or ids is None or len(ids) == 0:
        empty2 = np.zeros((0, 2), np.float32)
        return BoardDetection(empty2, np.zeros((0, 3), np.float32), np.zeros((0,), np.int32), markers)
    obj, img = board.matchImagePoints(corners, ids)  # type: ignore[call-overload]
    return BoardDetection(
        image_points=np.asarray(img, np.float32).reshape(-1, 2),
        object_points=np.asarray(obj, np.float32).reshape(-1, 3),
        ids=np.asarray(ids, np.int32).reshape(-1),
        markers=markers,
    )


_OTHER_DICTIONARIES = ("DICT_4X4_50", "DICT_5X5_100", "DICT_6X6_250", "DICT_7X7_250", "DICT_ARUCO_ORIGINAL",
                       "DICT_APRILTAG_36h11")


def diagnose_missing_board(image: npt.NDArray[np.uint8], spec: BoardSpec) -> str:
    """Why `spec`'s board is not found: another dictionary's markers, ids this board lacks, or nothing."""
    return board_missing_hint(image, spec).text


def board_missing_hint(image: npt.NDArray[np.uint8], spec: BoardSpec) -> Hint:
    """`diagnose_missing_board` as a code and its values (the English sentence in `text`)."""
    grey = _grey(image)
    own = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    _corners, ids, _rejected = cv2.aruco.ArucoDetector(own).detectMarkers(grey)
    board_markers = (spec.squares_x * spec.squares_y) // 2
    if ids is not None and len(ids) >= 2:
        foreign = sorted(int(i) for i in ids.reshape(-1) if int(i) >= board_markers)
        if foreign:
            return hint(
                HintCode.BOARD_FOREIGN_IDS,
                f"markers of {spec.dictionary} with ids {foreign[:6]} that a "
                f"{spec.squares_x}x{spec.squares_y} board does not have: the printed board is larger or "
                f"offset — check board_squares_x/y",
                dictionary=spec.dictionary, ids=tuple(str(i) for i in foreign[:6]),
                squares_x=spec.squares_x, squares_y=spec.squares_y)
        return hint(
            HintCode.BOARD_TOO_FEW_CORNERS,
            f"{len(ids)} markers of the board but too few chessboard corners: the board is cut off, "
            f"too small or the square/marker sizes differ — check board_square_mm/board_marker_mm",
            markers=len(ids))
    for name in _OTHER_DICTIONARIES:
        if name == spec.dictionary:
            continue
        other = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
        _c, other_ids, _r = cv2.aruco.ArucoDetector(other).detectMarkers(grey)
        if other_ids is not None and len(other_ids) >= 4:
            return hint(
                HintCode.BOARD_OTHER_DICTIONARY,
                f"a board with {name} markers, not {spec.dictionary}: print the board from "
                f"`station calibrate board` or set [calibration] board_dictionary = \"{name}\"",
                found=name, expected=spec.dictionary)
    return hint(HintCode.BOARD_NO_MARKERS,
                "no markers at all: the board is not in view, too small, too dark or blurred")
