"""What calibration found, as codes and values, so a screen can say it in its operator's language.

calibration/ cannot import the station (nor its translations): it writes English sentences for
`station calibrate` and the log. Each finding is also a `Hint` — a `HintCode` and the values the
sentence is made of — which the station's window words through its own catalogue
(station/ui/calibration_words.py). `str(hint)` is the English sentence, exactly as before codes
existed, so the command's output and its JSON (`hints`, `message`) do not change.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["Hint", "HintCode", "HintValue", "hint"]

logger = logging.getLogger(__name__)


class HintCode(enum.Enum):
    """One kind of finding; the values each carries are listed beside it."""

    # Guidance of an intrinsics session (what to do next).
    MORE_VIEWS = "more_views"  # views, min_views
    MORE_COVERAGE = "more_coverage"  # coverage, min_coverage (0..1), regions (names; empty: the edges)
    MORE_TILTS = "more_tilts"  # tilted, min_tilted, from_deg, to_deg
    TILT_OTHER_EDGES = "tilt_other_edges"  # edges: "left_right" or "top_bottom"
    BLURRED_REJECTED = "blurred_rejected"  # count
    # One view of the board, as judged.
    VIEW_KEPT = "view_kept"  # corners, tilt_deg
    VIEW_BLURRED = "view_blurred"  # causes (the frame's focus and motion findings)
    VIEW_NO_BOARD = "view_no_board"  # cause (one finding of the board's diagnosis)
    VIEW_TOO_FEW_CORNERS = "view_too_few_corners"  # corners, min_corners
    VIEW_WRONG_SIZE = "view_wrong_size"  # width, height, first_width, first_height
    VIEW_DUPLICATE = "view_duplicate"  # (no values)
    # Why the board was not found in a frame.
    BOARD_FOREIGN_IDS = "board_foreign_ids"  # dictionary, ids, squares_x, squares_y
    BOARD_TOO_FEW_CORNERS = "board_too_few_corners"  # markers
    BOARD_OTHER_DICTIONARY = "board_other_dictionary"  # found, expected
    BOARD_NO_MARKERS = "board_no_markers"  # (no values)
    # Refusals (CalibrationError.hint).
    NO_FRAME = "no_frame"  # (no values)
    # count, seen, min_views, blurred (count), fix ("views", "blurred" or "board": what to do first)
    TOO_FEW_VIEWS = "too_few_views"
    REPROJECTION_TOO_HIGH = "reprojection_too_high"  # rms, max_rms, views (names), errors (px, same order)
    # Image quality of a frame.
    TOO_DARK = "too_dark"  # mean, min_mean
    OVER_EXPOSED = "over_exposed"  # clipped (0..1), mean
    MOTION_BLUR = "motion_blur"  # ratio
    OUT_OF_FOCUS = "out_of_focus"  # sharpness, min_sharpness


HintValue: TypeAlias = "str | int | float | tuple[str, ...] | tuple[float, ...] | tuple[Hint, ...]"


@dataclass(frozen=True)
class Hint:
    """A finding: its code, the values its sentence is made of, and that sentence in English."""

    code: HintCode
    values: tuple[tuple[str, HintValue], ...]
    text: str  # English, for `station calibrate` and the log

    def value(self, name: str) -> HintValue:
        """One of the values (KeyError when the code does not carry it)."""
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(f"{self.code.value} has no value {name!r}")

    def __str__(self) -> str:
        return self.text


def hint(code: HintCode, text: str, **values: HintValue) -> Hint:
    """A `Hint` of `code` whose English sentence is `text`."""
    return Hint(code, tuple(values.items()), text)
