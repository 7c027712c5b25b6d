"""Camera intrinsics from views of the ChArUco board, one frame at a time.

`IntrinsicsSession` is what both the command line (a folder of images) and the desktop
wizard (live frames) drive: each frame is accepted or rejected with a reason, and
`guidance()` says what is still missing (coverage of the frame, tilted views, sharp
views) before `calibrate()` may run. Refusals are `CalibrationError`s that say why.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from calibration.board import BoardSpec, board_missing_hint, detect_board
from calibration.errors import CalibrationError
from calibration.hints import Hint, HintCode, hint
from calibration.quality import FrameQuality, QualityThresholds, assess

__all__ = [
    "Guidance",
    "Intrinsics",
    "IntrinsicsSession",
    "ViewFeedback",
    "ViewStatus",
    "calibrate_intrinsics",
]

logger = logging.getLogger(__name__)

_COVERAGE_GRID = (16, 9)  # cells across and down the frame for the coverage map
_TILT_DEG = 15.0  # a view counts as "tilted" beyond this angle between board and image plane


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """Camera matrix and distortion (OpenCV model) for one camera at one resolution."""

    matrix: npt.NDArray[np.float64]  # 3x3
    dist: npt.NDArray[np.float64]  # (k1, k2, p1, p2, k3)
    image_size: tuple[int, int]  # (width, height) in pixels
    rms_px: float  # RMS reprojection error over all corners
    per_view_errors: tuple[tuple[str, float], ...] = ()  # (view name, RMS px)

    @property
    def fx(self) -> float:
        """Focal length along x, in pixels."""
        return float(self.matrix[0, 0])

    @property
    def fy(self) -> float:
        """Focal length along y, in pixels."""
        return float(self.matrix[1, 1])

    @property
    def cx(self) -> float:
        """Principal point x, in pixels."""
        return float(self.matrix[0, 2])

    @property
    def cy(self) -> float:
        """Principal point y, in pixels."""
        return float(self.matrix[1, 2])

    @functools.cached_property
    def _undistort_maps(self) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]]:
        # Fixed-point maps: remap with them is about twice as fast as with float maps.
        map1, map2 = cv2.initUndistortRectifyMap(self.matrix, self.dist, None, self.matrix, self.image_size,
                                                 cv2.CV_16SC2)
        return np.asarray(map1, np.int16), np.asarray(map2, np.uint16)

    def undistort_image(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The frame as a distortion-free camera with the same matrix would see it (lines stay straight)."""
        size = (int(frame.shape[1]), int(frame.shape[0]))
        if size != self.image_size:
            raise CalibrationError(
                "intrinsics", f"frame is {size[0]}x{size[1]}, calibration is for "
                f"{self.image_size[0]}x{self.image_size[1]}", "recalibrate at this resolution",
            )
        map1, map2 = self._undistort_maps
        return np.asarray(cv2.remap(frame, map1, map2, cv2.INTER_LINEAR), np.uint8)

    def undistort_points(self, points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Pixel positions as a distortion-free camera with the same matrix would see them."""
        pts = np.asarray(points_px, np.float64).reshape(-1, 1, 2)
        if pts.shape[0] == 0:
            return np.zeros((0, 2), np.float64)
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-8)
        out = cv2.undistortPoints(pts, self.matrix, self.dist, None, None, self.matrix, criteria)
        return np.asarray(out, np.float64).reshape(-1, 2)


class ViewStatus:
    """Why a frame was or was not kept (strings, so the UI can show them as they are)."""

    ACCEPTED = "accepted"
    BLURRED = "blurred"
    NO_BOARD = "no_board"
    TOO_FEW_CORNERS = "too_few_corners"
    WRONG_SIZE = "wrong_size"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ViewFeedback:
    """What happened to one frame; `message` in English (the command, the log), `finding` the same as a
    code and its values (for a screen in another language)."""

    name: str
    status: str  # one of ViewStatus
    message: str
    corners: int = 0
    tilt_deg: float = 0.0
    quality: FrameQuality | None = None
    tilt_side: str = ""  # "left", "right", "top", "bottom": where the board's far edge is
    finding: Hint | None = None
    number: int = 0  # the frame's number in the session (1 = the first judged), for "view 3"

    @property
    def accepted(self) -> bool:
        """True when the view will be used."""
        return self.status == ViewStatus.ACCEPTED


@dataclass(frozen=True)
class Guidance:
    """Progress of a session, for the wizard and the command's output."""

    views: int
    min_views: int
    coverage: float  # share of the frame's cells the board has been seen in, 0..1
    tilted_views: int
    rejected_blurred: int
    rejected_no_board: int
    ready: bool
    hints: tuple[str, ...]  # English, for the command and the log
    missing_regions: tuple[str, ...] = ()
    # Sides towards which tilted views lean ("left", "right", "top", "bottom": the far edge of the board).
    tilt_directions: tuple[str, ...] = ()
    advice: tuple[Hint, ...] = ()  # `hints` as codes and values, same order


@dataclass
class _View:
    name: str
    image_points: npt.NDArray[np.float32]
    object_points: npt.NDArray[np.float32]
    tilt_deg: float
    centre: tuple[float, float]
    tilt_side: str


@dataclass
class IntrinsicsSession:
    """Collects board views frame by frame, then calibrates."""

    spec: BoardSpec
    min_views: int = 10
    max_rms_px: float = 1.0
    min_corners: int = 6
    min_coverage: float = 0.45
    min_tilted_views: int = 3
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    # Live frames repeat: drop a view that shows the board where and how a kept one already does.
    skip_duplicates: bool = False
    image_size: tuple[int, int] | None = None
    _views: list[_View] = field(default_factory=list, init=False, repr=False)
    # Union of the kept boards' outlines at 8x8 samples per cell of the coverage grid.
    _covered: npt.NDArray[np.uint8] = field(
        default_factory=lambda: np.zeros((_COVERAGE_GRID[1] * 8, _COVERAGE_GRID[0] * 8), np.uint8),
        init=False, repr=False)
    _blurred: list[str] = field(default_factory=list, init=False, repr=False)
    _no_board: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)

    def add_frame(self, frame: npt.NDArray[np.uint8], name: str = "") -> ViewFeedback:
        """Judge one frame; a kept view counts towards calibration."""
        number = len(self._views) + len(self._blurred) + len(self._no_board) + 1
        name = name or f"view {number}"
        size = (int(frame.shape[1]), int(frame.shape[0]))
        if self.image_size is None:
            self.image_size = size
        elif size != self.image_size:
            found = hint(HintCode.VIEW_WRONG_SIZE,
                         f"{size[0]}x{size[1]} differs from the first view's "
                         f"{self.image_size[0]}x{self.image_size[1]}: use one camera at one resolution",
                         width=size[0], height=size[1],
                         first_width=self.image_size[0], first_height=self.image_size[1])
            return ViewFeedback(name, ViewStatus.WRONG_SIZE, found.text, finding=found, number=number)
        detection = detect_board(frame, self.spec)
        # Judge focus where the board is (a plain background says nothing about it); a blurred
        # board is often not found at all, then the whole frame is all there is to judge.
        region = None
        if detection.count > 0:
            low = detection.image_points.min(axis=0)
            high = detection.image_points.max(axis=0)
            pad = 0.15 * (high - low) + 10
            region = (int(low[0] - pad[0]), int(low[1] - pad[1]),
                      int(high[0] - low[0] + 2 * pad[0]), int(high[1] - low[1] + 2 * pad[1]))
        quality = assess(frame, self.thresholds, region)
        if quality.sharpness < self.thresholds.min_sharpness or quality.motion_blur:
            self._blurred.append(name)
            causes = tuple(f for f in quality.findings
                           if f.code in (HintCode.MOTION_BLUR, HintCode.OUT_OF_FOCUS))
            why = "; ".join(cause.text for cause in causes)
            found = hint(HintCode.VIEW_BLURRED, f"blurred, not used ({why}): hold the board still",
                         causes=causes)
            return ViewFeedback(name, ViewStatus.BLURRED, found.text, quality=quality, finding=found,
                                number=number)
        if detection.count == 0:
            cause = board_missing_hint(frame, self.spec)
            self._no_board.append((name, cause.text))
            found = hint(HintCode.VIEW_NO_BOARD, f"board not found: {cause.text}", cause=(cause,))
            return ViewFeedback(name, ViewStatus.NO_BOARD, found.text, quality=quality, finding=found,
                                number=number)
        if detection.count < self.min_corners:
            found = hint(HintCode.VIEW_TOO_FEW_CORNERS,
                         f"only {detection.count} corners (need {self.min_corners}): show more of the board",
                         corners=detection.count, min_corners=self.min_corners)
            return ViewFeedback(name, ViewStatus.TOO_FEW_CORNERS, found.text,
                                corners=detection.count, quality=quality, finding=found, number=number)
        tilt, side = self._tilt(detection.image_points, detection.object_points, size)
        mean = detection.image_points.mean(axis=0)
        centre = (float(mean[0]), float(mean[1]))
        if self.skip_duplicates and self._is_duplicate(centre, tilt, size):
            found = hint(HintCode.VIEW_DUPLICATE, "same place and angle as a kept view: move the board")
            return ViewFeedback(name, ViewStatus.DUPLICATE, found.text,
                                corners=detection.count, tilt_deg=tilt, quality=quality, finding=found,
                                number=number)
        self._views.append(_View(name, detection.image_points, detection.object_points, tilt, centre, side))
        self._mark_coverage(detection.image_points, size)
        found = hint(HintCode.VIEW_KEPT, f"kept ({detection.count} corners, tilt {tilt:.0f}°)",
                     corners=detection.count, tilt_deg=tilt)
        return ViewFeedback(name, ViewStatus.ACCEPTED, found.text,
                            corners=detection.count, tilt_deg=tilt, quality=quality, tilt_side=side,
                            finding=found, number=number)

    def guidance(self) -> Guidance:
        """What the operator should do next; `ready` once calibration may run."""
        coverage = float(self._cells().mean())
        tilted = sum(1 for v in self._views if v.tilt_deg >= _TILT_DEG)
        hints: list[Hint] = []
        missing = self._missing_regions()
        if len(self._views) < self.min_views:
            hints.append(hint(HintCode.MORE_VIEWS, f"{len(self._views)} of {self.min_views} views kept: "
                              "show the board in more positions",
                              views=len(self._views), min_views=self.min_views))
        if coverage < self.min_coverage:
            where = ", ".join(missing) if missing else "the edges"
            hints.append(hint(
                HintCode.MORE_COVERAGE,
                f"the board has covered {coverage:.0%} of the frame (need {self.min_coverage:.0%}): "
                f"bring it to {where}",
                coverage=coverage, min_coverage=self.min_coverage, regions=missing))
        sides = tuple(sorted({v.tilt_side for v in self._views if v.tilt_deg >= _TILT_DEG}))
        both_axes = bool({"left", "right"} & set(sides)) and bool({"top", "bottom"} & set(sides))
        if tilted < self.min_tilted_views:
            hints.append(hint(HintCode.MORE_TILTS, f"{tilted} tilted views (need {self.min_tilted_views}): "
                              f"tilt the board {_TILT_DEG + 10:.0f}°-45° towards each side",
                              tilted=tilted, min_tilted=self.min_tilted_views, from_deg=_TILT_DEG + 10,
                              to_deg=45))
        elif not both_axes:
            left_right = not {"left", "right"} & set(sides)
            turn = "left or right" if left_right else "top or bottom"
            hints.append(hint(HintCode.TILT_OTHER_EDGES,
                              f"all tilted views lean the same way: also tilt the board's {turn} edge away",
                              edges="left_right" if left_right else "top_bottom"))
        if self._blurred:
            hints.append(hint(HintCode.BLURRED_REJECTED,
                              f"{len(self._blurred)} blurred views rejected: "
                              "hold the board still, check focus",
                              count=len(self._blurred)))
        ready = (len(self._views) >= self.min_views and coverage >= self.min_coverage
                 and tilted >= self.min_tilted_views and both_axes)
        return Guidance(len(self._views), self.min_views, coverage, tilted, len(self._blurred),
                        len(self._no_board), ready, tuple(h.text for h in hints), missing, sides,
                        tuple(hints))

    def coverage_map(self) -> npt.NDArray[np.bool_]:
        """Cells of the frame (rows x columns, 9 x 16) the kept views' boards have covered, for an overlay."""
        return self._cells()

    def calibrate(self) -> Intrinsics:
        """Solve for the camera; refuses too few views or too high an error, saying why."""
        self._refuse_if_too_few()
        assert self.image_size is not None  # set by the first frame; _refuse_if_too_few ensures views
        views = list(self._views)
        result = self._solve(views)
        # One pass of dropping views far off the rest (a bent board, a smeared frame that passed):
        errors = np.array([e for _n, e in result.per_view_errors])
        limit = max(3.0 * float(np.median(errors)), 0.5 * self.max_rms_px)
        keep = [v for v, e in zip(views, errors, strict=True) if e <= limit]
        if len(keep) < len(views) and len(keep) >= self.min_views:
            dropped = [v.name for v, e in zip(views, errors, strict=True) if e > limit]
            logger.warning("views %s are far off the others (> %.2f px) and were left out", dropped, limit)
            result = self._solve(keep)
        if result.rms_px > self.max_rms_px:
            worst = sorted(result.per_view_errors, key=lambda ne: -ne[1])[:3]
            listing = ", ".join(f"{n} {e:.2f} px" for n, e in worst)
            problem = (f"reprojection error {result.rms_px:.2f} px is above {self.max_rms_px:.2f} px "
                       f"(worst views: {listing})")
            fix = "retake those views with the board flat and still, or check the board sizes in config"
            raise CalibrationError("intrinsics", problem, fix, hint(
                HintCode.REPROJECTION_TOO_HIGH, f"{problem} — {fix}", rms=result.rms_px,
                max_rms=self.max_rms_px, views=tuple(n for n, _e in worst),
                errors=tuple(e for _n, e in worst)))
        guidance = self.guidance()
        if not guidance.ready:
            logger.warning("calibrated although guidance is not met: %s", "; ".join(guidance.hints))
        return result

    # -- internals ------------------------------------------------------------------------

    def _refuse_if_too_few(self) -> None:
        count = len(self._views)
        if count >= self.min_views:
            return
        seen = count + len(self._blurred) + len(self._no_board)
        parts = [f"only {count} usable views of {seen} (need at least {self.min_views})"]
        fix = f"take at least {self.min_views} sharp views of the board, across the frame and tilted"
        fix_code = "views"
        if self._blurred:
            names = ", ".join(self._blurred[:5]) + (" ..." if len(self._blurred) > 5 else "")
            parts.append(f"{len(self._blurred)} blurred: {names}")
            fix = "retake the blurred views with the board held still and the camera in focus"
            fix_code = "blurred"
        if self._no_board:
            reasons = sorted({r for _n, r in self._no_board})
            parts.append(f"{len(self._no_board)} without the board ({reasons[0]})")
            if any("not " + self.spec.dictionary in r or "does not have" in r for r in reasons):
                fix = ("use the board printed by `station calibrate board`, "
                       "or fix the [calibration] board keys")
                fix_code = "board"
        problem = "; ".join(parts)
        raise CalibrationError("intrinsics", problem, fix, hint(
            HintCode.TOO_FEW_VIEWS, f"{problem} — {fix}", count=count, seen=seen, min_views=self.min_views,
            blurred=len(self._blurred), fix=fix_code))

    def _solve(self, views: list[_View]) -> Intrinsics:
        assert self.image_size is not None
        obj = [v.object_points.reshape(-1, 1, 3).astype(np.float32) for v in views]
        img = [v.image_points.reshape(-1, 1, 2).astype(np.float32) for v in views]
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)
        rms, matrix, dist, _r, _t, _si, _se, per_view = cv2.calibrateCameraExtended(
            obj, img, self.image_size, None, None, criteria=criteria)  # type: ignore[call-overload]
        per_view_rms = np.asarray(per_view).reshape(-1)
        errors = tuple((v.name, float(e)) for v, e in zip(views, per_view_rms, strict=True))
        return Intrinsics(np.asarray(matrix, np.float64), np.asarray(dist, np.float64).reshape(-1),
                          self.image_size, float(rms), errors)

    @staticmethod
    def _tilt(image_points: npt.NDArray[np.float32], object_points: npt.NDArray[np.float32],
              size: tuple[int, int]) -> tuple[float, str]:
        """Angle between board and image plane, and the side of the image the board's far edge is on."""
        # Without intrinsics yet, a nominal camera (f = width, centred) tells tilted from flat well enough.
        f = float(size[0])
        nominal = np.array([[f, 0, size[0] / 2], [0, f, size[1] / 2], [0, 0, 1]], np.float64)
        ok, rvec, _tvec = cv2.solvePnP(object_points.astype(np.float64), image_points.astype(np.float64),
                                       nominal, None, flags=cv2.SOLVEPNP_IPPE)
        if not ok:
            return 0.0, ""
        rot, _j = cv2.Rodrigues(rvec)
        normal = rot[:, 2] if rot[2, 2] > 0 else -rot[:, 2]  # pointing away from the camera
        angle = float(np.degrees(np.arccos(np.clip(normal[2], 0.0, 1.0))))
        # The board's far edge lies on the side its normal leans to (image x right, y down).
        if abs(normal[0]) >= abs(normal[1]):
            side = "right" if normal[0] < 0 else "left"
        else:
            side = "bottom" if normal[1] < 0 else "top"
        return angle, side

    def _is_duplicate(self, centre: tuple[float, float], tilt: float, size: tuple[int, int]) -> bool:
        reach = 0.05 * max(size)
        return any(abs(v.centre[0] - centre[0]) < reach and abs(v.centre[1] - centre[1]) < reach
                   and abs(v.tilt_deg - tilt) < 5.0 for v in self._views)

    def _mark_coverage(self, points: npt.NDArray[np.float32], size: tuple[int, int]) -> None:
        cols, rows = _COVERAGE_GRID
        hull = cv2.convexHull(points.astype(np.float32))
        scaled = (hull.reshape(-1, 2) * np.array([cols / size[0], rows / size[1]])).astype(np.float32)
        cv2.fillConvexPoly(self._covered, np.round(scaled * 8).astype(np.int32), 1)

    def _cells(self) -> npt.NDArray[np.bool_]:
        cols, rows = _COVERAGE_GRID
        return np.asarray(self._covered.reshape(rows, 8, cols, 8).mean(axis=(1, 3)) > 0.5, np.bool_)

    def _missing_regions(self) -> tuple[str, ...]:
        cells = self._cells()
        rows, cols = cells.shape
        names = []
        for vname, rs in (("top", slice(0, rows // 3)), ("middle", slice(rows // 3, 2 * rows // 3)),
                          ("bottom", slice(2 * rows // 3, rows))):
            for hname, cs in (("left", slice(0, cols // 3)), ("centre", slice(cols // 3, 2 * cols // 3)),
                              ("right", slice(2 * cols // 3, cols))):
                if cells[rs, cs].mean() < 0.25:
                    names.append("centre" if (vname, hname) == ("middle", "centre") else f"{vname} {hname}")
        return tuple(names)


def calibrate_intrinsics(frames: Iterable[tuple[str, npt.NDArray[np.uint8]]], spec: BoardSpec,
                         min_views: int = 10, max_rms_px: float = 1.0,
                         thresholds: QualityThresholds | None = None,
                         ) -> tuple[Intrinsics, list[ViewFeedback]]:
    """Calibrate from named frames (e.g. files of a folder); returns the result and each frame's fate."""
    session = IntrinsicsSession(spec, min_views=min_views, max_rms_px=max_rms_px,
                                thresholds=thresholds or QualityThresholds())
    feedback = [session.add_frame(frame, name) for name, frame in frames]
    return session.calibrate(), feedback
