"""Scale and pose of the inspection plane (belt or bench) from the board lying on it.

The homography maps undistorted image pixels to millimetres in the board's frame on the
plane, so any pixel of the plane can be measured in mm; `px_per_mm` is the local scale at
the board's centre (useful for a quick check and for sizing image crops). With intrinsics,
the camera's pose gives its height above the plane, which corrects the size of raised
surfaces (a box top is nearer to the camera than the belt, so it looks larger).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.board import BoardSpec, detect_board, diagnose_missing_board
from calibration.errors import CalibrationError
from calibration.intrinsics import Intrinsics

__all__ = ["PlaneCalibration", "calibrate_plane"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PlaneCalibration:
    """Image <-> plane (mm) mapping for one camera position."""

    homography: npt.NDArray[np.float64]  # 3x3: undistorted pixel -> mm on the plane
    px_per_mm: float
    rms_mm: float  # residual of the board's corners through the homography
    image_size: tuple[int, int]
    intrinsics: Intrinsics | None = None
    # Distance of the camera's centre from the plane and its foot point on it (mm); None without intrinsics.
    camera_height_mm: float | None = None
    camera_foot_mm: tuple[float, float] | None = None

    def image_to_plane(self, points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Millimetre positions on the plane of image pixels (N x 2)."""
        pts = np.asarray(points_px, np.float64).reshape(-1, 2)
        if pts.shape[0] == 0:
            return np.zeros((0, 2), np.float64)
        if self.intrinsics is not None:
            pts = self.intrinsics.undistort_points(pts)
        out = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), self.homography)
        return np.asarray(out, np.float64).reshape(-1, 2)

    def plane_to_image(self, points_mm: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Image pixels of plane positions (N x 2, mm); distortion is applied when intrinsics are known."""
        pts = np.asarray(points_mm, np.float64).reshape(-1, 1, 2)
        if pts.shape[0] == 0:
            return np.zeros((0, 2), np.float64)
        undist = np.asarray(cv2.perspectiveTransform(pts, np.linalg.inv(self.homography)), np.float64)
        if self.intrinsics is None:
            return undist.reshape(-1, 2)
        k = self.intrinsics.matrix
        norm = np.concatenate([(undist[..., 0:1] - k[0, 2]) / k[0, 0], (undist[..., 1:2] - k[1, 2]) / k[1, 1],
                               np.ones_like(undist[..., 0:1])], axis=-1).reshape(-1, 3)
        zero = np.zeros(3, np.float64)
        out, _j = cv2.projectPoints(norm, zero, zero, k, self.intrinsics.dist)
        return np.asarray(out, np.float64).reshape(-1, 2)

    def lift(self, points_mm: npt.NDArray[np.floating], height_mm: float) -> npt.NDArray[np.float64]:
        """Where points seen on the plane really are when they lie `height_mm` above it.

        A ray through a point at height h meets the plane further from the camera's foot
        point by Z / (Z - h); this undoes that. Without a camera height it is the identity.
        """
        pts = np.asarray(points_mm, np.float64).reshape(-1, 2)
        if height_mm == 0.0 or self.camera_height_mm is None or self.camera_foot_mm is None:
            return pts
        if height_mm >= self.camera_height_mm:
            raise CalibrationError("plane", f"height {height_mm:.0f} mm is above the camera "
                                   f"({self.camera_height_mm:.0f} mm)", "check the height measurement")
        foot = np.array(self.camera_foot_mm, np.float64)
        return foot + (pts - foot) * (self.camera_height_mm - height_mm) / self.camera_height_mm


def _local_scale(homography: npt.NDArray[np.float64], centre_mm: npt.NDArray[np.float64]) -> float:
    """Pixels per mm around `centre_mm`: square root of the area scale of plane -> image."""
    inverse = np.linalg.inv(homography)
    step_x = np.array([1.0, 0.0])
    step_y = np.array([0.0, 1.0])
    probe = np.array([centre_mm, centre_mm + step_x, centre_mm + step_y], np.float64)
    px = cv2.perspectiveTransform(probe.reshape(-1, 1, 2), inverse).reshape(-1, 2)
    jac = np.stack([px[1] - px[0], px[2] - px[0]], axis=1)
    return float(np.sqrt(abs(np.linalg.det(jac))))


def calibrate_plane(frame: npt.NDArray[np.uint8], spec: BoardSpec, intrinsics: Intrinsics | None,
                    min_corners: int = 12) -> PlaneCalibration:
    """Plane calibration from one frame of the board lying flat on the belt or bench."""
    size = (int(frame.shape[1]), int(frame.shape[0]))
    if intrinsics is not None and intrinsics.image_size != size:
        raise CalibrationError(
            "plane", f"the image is {size[0]}x{size[1]} but the intrinsics are for "
            f"{intrinsics.image_size[0]}x{intrinsics.image_size[1]}",
            "take the plane image with the same camera resolution as the intrinsics",
        )
    detection = detect_board(frame, spec)
    if detection.count < min_corners:
        reason = diagnose_missing_board(frame, spec) if detection.count == 0 else (
            f"only {detection.count} of {spec.corner_count} corners found")
        raise CalibrationError("plane", f"board not found well enough: {reason}",
                               "lay the whole board flat in view, well lit and in focus")
    pts = detection.image_points.astype(np.float64)
    if intrinsics is not None:
        pts = intrinsics.undistort_points(pts)
    obj = detection.object_points[:, :2].astype(np.float64)
    height: float | None = None
    foot: tuple[float, float] | None = None
    found: npt.NDArray[np.float64] | None = None
    if intrinsics is not None:
        # With intrinsics the plane has 6 degrees of freedom (the board's pose), not a free
        # homography's 8: far better conditioned where the belt reaches beyond the board.
        ok, rvec, tvec = cv2.solvePnP(detection.object_points.astype(np.float64),
                                      detection.image_points.astype(np.float64),
                                      intrinsics.matrix, intrinsics.dist, flags=cv2.SOLVEPNP_IPPE)
        if ok:
            rvec, tvec = cv2.solvePnPRefineLM(detection.object_points.astype(np.float64),
                                              detection.image_points.astype(np.float64),
                                              intrinsics.matrix, intrinsics.dist, rvec, tvec)
            rot, _j = cv2.Rodrigues(rvec)
            t = np.asarray(tvec, np.float64).reshape(3)
            plane_to_image = intrinsics.matrix @ np.column_stack([rot[:, 0], rot[:, 1], t])
            inverse = np.linalg.inv(plane_to_image)
            found = np.asarray(inverse / inverse[2, 2], np.float64)
            centre = -rot.T @ t
            height = float(abs(centre[2]))
            foot = (float(centre[0]), float(centre[1]))
    if found is None:
        homography_fit, _mask = cv2.findHomography(pts, obj, 0)
        if homography_fit is None:
            raise CalibrationError("plane", "no homography fits the board's corners",
                                   "retake the image with the board flat and fully in view")
        found = np.asarray(homography_fit, np.float64)
    homography = found
    mapped = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), homography).reshape(-1, 2)
    rms_mm = float(np.sqrt(np.mean(np.sum((mapped - obj) ** 2, axis=1))))
    px_per_mm = _local_scale(homography, obj.mean(axis=0))
    logger.info("plane: %.4f px/mm, residual %.3f mm, camera height %s mm", px_per_mm, rms_mm,
                f"{height:.0f}" if height is not None else "unknown")
    return PlaneCalibration(homography, px_per_mm, rms_mm, size, intrinsics, height, foot)
