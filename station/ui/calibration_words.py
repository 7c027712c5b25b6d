"""What calibration found (`calibration.hints.Hint`: a code and its values) in the window's language.

calibration/ writes English for `station calibrate` and the log and cannot reach the catalogue; the
wizard (calibration_steps.py) says each finding here instead, one whole sentence per code, its
numbers as the language writes them. A code this window does not know yet shows its English.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication

from calibration.hints import Hint, HintCode, HintValue
from station.ui.card_words import figure_words as figure
from station.ui.card_words import percent_words

__all__ = ["figure", "hint_words", "region_words", "side_words", "view_name_words"]

logger = logging.getLogger(__name__)

# Each sentence is written out in a translate() call with its context, so Qt's lupdate finds it.
translate = QCoreApplication.translate


def region_words(name: str) -> str:
    """A part of the frame the board has not covered yet ("top left", "centre"), in words."""
    words = {
        "top left": translate("CalibrationWords", "top left"),
        "top centre": translate("CalibrationWords", "top centre"),
        "top right": translate("CalibrationWords", "top right"),
        "middle left": translate("CalibrationWords", "middle left"),
        "centre": translate("CalibrationWords", "centre"),
        "middle right": translate("CalibrationWords", "middle right"),
        "bottom left": translate("CalibrationWords", "bottom left"),
        "bottom centre": translate("CalibrationWords", "bottom centre"),
        "bottom right": translate("CalibrationWords", "bottom right"),
    }
    return words.get(name, name)


def side_words(side: str) -> str:
    """The side a tilted board's far edge leans to ("left", "top"), in words."""
    words = {
        "left": translate("CalibrationSide", "left"),
        "right": translate("CalibrationSide", "right"),
        "top": translate("CalibrationSide", "top"),
        "bottom": translate("CalibrationSide", "bottom"),
    }
    return words.get(side, side)


_VIEW_NAME = re.compile(r"view (\d+)")


def view_name_words(name: str) -> str:
    """A view the session named itself ("view 3") in words; a name given by the caller (a file) as it is."""
    match = _VIEW_NAME.fullmatch(name)
    if match is None:
        return name
    return translate("CalibrationWords", "View {number}").format(number=match.group(1))


def _number(found: Hint, name: str, decimals: int = 0) -> str:
    value = found.value(name)
    return figure(value, decimals) if isinstance(value, int | float) else str(value)


def _percent(found: Hint, name: str) -> str:
    value = found.value(name)
    return percent_words(value) if isinstance(value, int | float) else str(value)


def _text(found: Hint, name: str) -> str:
    return str(found.value(name))


def _words(found: Hint, name: str) -> tuple[str, ...]:
    value: HintValue = found.value(name)
    return tuple(str(v) for v in value) if isinstance(value, tuple) else (str(value),)


def _floats(found: Hint, name: str) -> tuple[float, ...]:
    value = found.value(name)
    return tuple(float(v) for v in value if isinstance(v, int | float)) if isinstance(value, tuple) else ()


def _too_few_views(found: Hint) -> str:
    fix = _text(found, "fix")
    if fix == "blurred":
        text = translate("CalibrationHint", "only {count} usable views of {seen} (need at least {needed}), "
                         "{blurred} blurred: retake the blurred views with the board held still and the "
                         "camera in focus")
    elif fix == "board":
        text = translate("CalibrationHint", "only {count} usable views of {seen} (need at least {needed}): "
                         "use the board printed by « station calibrate board », or fix the [calibration] "
                         "board keys")
    else:
        text = translate("CalibrationHint", "only {count} usable views of {seen} (need at least {needed}): "
                         "take at least {needed} sharp views of the board, across the frame and tilted")
    return text.format(count=_number(found, "count"), seen=_number(found, "seen"),
                       needed=_number(found, "min_views"), blurred=_number(found, "blurred"))


def _reprojection_too_high(found: Hint) -> str:
    worst = ", ".join(
        translate("CalibrationHint", "{view} {error} px").format(
            view=view_name_words(view), error=figure(error, 2))
        for view, error in zip(_words(found, "views"), _floats(found, "errors"), strict=False))
    return translate(
        "CalibrationHint",
        "reprojection error {rms} px is above {limit} px (worst views: {worst}): retake those views with the "
        "board flat and still, or check the board sizes in config"
    ).format(rms=_number(found, "rms", 2), limit=_number(found, "max_rms", 2), worst=worst)


def _causes(found: Hint, name: str) -> tuple[Hint, ...]:
    value = found.value(name)
    return tuple(v for v in value if isinstance(v, Hint)) if isinstance(value, tuple) else ()


def _more_coverage(found: Hint) -> str:
    regions = _words(found, "regions")
    where = (", ".join(region_words(r) for r in regions) if regions
             else translate("CalibrationHint", "the edges"))
    return translate(
        "CalibrationHint",
        "the board has covered {coverage} of the frame (need {needed}): bring it to {where}"
    ).format(coverage=_percent(found, "coverage"), needed=_percent(found, "min_coverage"), where=where)


def _tilt_other_edges(found: Hint) -> str:
    if _text(found, "edges") == "left_right":
        return translate("CalibrationHint",
                         "all tilted views lean the same way: also tilt the board's left or right edge away")
    return translate("CalibrationHint",
                     "all tilted views lean the same way: also tilt the board's top or bottom edge away")


def _view_blurred(found: Hint) -> str:
    why = "; ".join(hint_words(cause) for cause in _causes(found, "causes"))
    return translate("CalibrationHint", "blurred, not used ({why}): hold the board still").format(why=why)


def _view_no_board(found: Hint) -> str:
    why = "; ".join(hint_words(cause) for cause in _causes(found, "cause"))
    return translate("CalibrationHint", "board not found: {why}").format(why=why)


_SAID: dict[HintCode, Callable[[Hint], str]] = {
    HintCode.MORE_VIEWS: lambda h: translate(
        "CalibrationHint", "{views} of {needed} views kept: show the board in more positions"
    ).format(views=_number(h, "views"), needed=_number(h, "min_views")),
    HintCode.MORE_COVERAGE: _more_coverage,
    HintCode.MORE_TILTS: lambda h: translate(
        "CalibrationHint",
        "{tilted} tilted views (need {needed}): tilt the board {low}°-{high}° towards each side"
    ).format(tilted=_number(h, "tilted"), needed=_number(h, "min_tilted"), low=_number(h, "from_deg"),
             high=_number(h, "to_deg")),
    HintCode.TILT_OTHER_EDGES: _tilt_other_edges,
    HintCode.BLURRED_REJECTED: lambda h: translate(
        "CalibrationHint", "{count} blurred views rejected: hold the board still, check focus"
    ).format(count=_number(h, "count")),
    HintCode.VIEW_KEPT: lambda h: translate(
        "CalibrationHint", "kept ({corners} corners, tilt {tilt}°)"
    ).format(corners=_number(h, "corners"), tilt=_number(h, "tilt_deg")),
    HintCode.VIEW_BLURRED: _view_blurred,
    HintCode.VIEW_NO_BOARD: _view_no_board,
    HintCode.VIEW_TOO_FEW_CORNERS: lambda h: translate(
        "CalibrationHint", "only {corners} corners (need {needed}): show more of the board"
    ).format(corners=_number(h, "corners"), needed=_number(h, "min_corners")),
    HintCode.VIEW_WRONG_SIZE: lambda h: translate(
        "CalibrationHint",
        "{width}x{height} differs from the first view's {first_width}x{first_height}: "
        "use one camera at one resolution"
    ).format(width=_text(h, "width"), height=_text(h, "height"), first_width=_text(h, "first_width"),
             first_height=_text(h, "first_height")),
    HintCode.VIEW_DUPLICATE: lambda h: translate(
        "CalibrationHint", "same place and angle as a kept view: move the board"),
    HintCode.BOARD_FOREIGN_IDS: lambda h: translate(
        "CalibrationHint",
        "markers of {dictionary} with ids {ids} that a {squares_x}x{squares_y} board does not have: "
        "the printed board is larger or offset — check board_squares_x/y"
    ).format(dictionary=_text(h, "dictionary"), ids=", ".join(_words(h, "ids")),
             squares_x=_text(h, "squares_x"), squares_y=_text(h, "squares_y")),
    HintCode.BOARD_TOO_FEW_CORNERS: lambda h: translate(
        "CalibrationHint",
        "{markers} markers of the board but too few chessboard corners: the board is cut off, too small "
        "or the square/marker sizes differ — check board_square_mm/board_marker_mm"
    ).format(markers=_number(h, "markers")),
    HintCode.BOARD_OTHER_DICTIONARY: lambda h: translate(
        "CalibrationHint",
        "a board with {found} markers, not {expected}: print the board from « station calibrate board » "
        "or set [calibration] board_dictionary = \"{found}\""
    ).format(found=_text(h, "found"), expected=_text(h, "expected")),
    HintCode.BOARD_NO_MARKERS: lambda h: translate(
        "CalibrationHint", "no markers at all: the board is not in view, too small, too dark or blurred"),
    HintCode.NO_FRAME: lambda h: translate(
        "CalibrationHint", "no frame from the camera yet: check the camera's status below, then try again"),
    HintCode.TOO_FEW_VIEWS: _too_few_views,
    HintCode.REPROJECTION_TOO_HIGH: _reprojection_too_high,
    HintCode.TOO_DARK: lambda h: translate(
        "CalibrationHint", "too dark (mean grey {mean} < {minimum}): more light or exposure"
    ).format(mean=_number(h, "mean"), minimum=_number(h, "min_mean")),
    HintCode.OVER_EXPOSED: lambda h: translate(
        "CalibrationHint",
        "over-exposed ({clipped} of pixels burnt out, mean grey {mean}): less light or exposure"
    ).format(clipped=_percent(h, "clipped"), mean=_number(h, "mean")),
    HintCode.MOTION_BLUR: lambda h: translate(
        "CalibrationHint",
        "motion blur (detail along one direction {ratio} of the other): shorter exposure or slower belt"
    ).format(ratio=_number(h, "ratio", 2)),
    HintCode.OUT_OF_FOCUS: lambda h: translate(
        "CalibrationHint", "out of focus (sharpness {sharpness} < {minimum}): refocus or clean the lens"
    ).format(sharpness=_number(h, "sharpness"), minimum=_number(h, "min_sharpness")),
}


def hint_words(found: Hint) -> str:
    """The finding as one sentence in the window's language (its English `text` for a code unknown here)."""
    said = _SAID.get(found.code)
    if said is None:
        return found.text
    try:
        return said(found)
    except KeyError as exc:  # a value the code should carry is missing: say what calibration said
        logger.error("calibration finding %s lacks a value (%s): English shown", found.code.value, exc)
        return found.text
