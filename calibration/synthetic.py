"""Synthetic ground truth: a known camera (matrix, distortion, pose) looking at textured planes.

Each output pixel is traced back through the camera's distortion to a ray, the ray is cut
with the plane z = z_mm of the world (mm), and the plane's texture is sampled there, so the
images carry exactly the camera matrix, distortion and pose that calibration must recover.
Textures are drawn at about twice the image's scale and smoothed a little, against aliasing.
Used by the tests and the benchmark; the world's z axis points away from the camera, so a
surface raised towards a camera above the belt has a negative z.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.board import BoardSpec, render_board_texture

__all__ = [
    "BELT_GREY",
    "BELT_ORIGIN",
    "BELT_PX_PER_MM",
    "BELT_SIZE_MM",
    "BOARD_ON_BELT_MM",
    "Camera",
    "belt_texture",
    "belt_with_board",
    "board_texture",
    "board_views",
    "degrade",
    "draw_box",
    "look_at",
    "motion_blur",
    "render_plane",
    "top_camera_pose",
    "view_poses",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera with OpenCV's distortion model."""

    fx: float = 1000.0
    fy: float = 1004.0
    cx: float = 652.0
    cy: float = 351.0
    dist: tuple[float, ...] = (-0.28, 0.11, 0.0008, -0.0006, 0.0)
    width: int = 1280
    height: int = 720

    @property
    def matrix(self) -> npt.NDArray[np.float64]:
        """The 3x3 camera matrix."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], np.float64)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)


@functools.lru_cache(maxsize=4)
def _rays(camera: Camera) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Undistorted normalised coordinates of every pixel centre (cached per camera)."""
    us = np.arange(camera.width, dtype=np.float64)
    vs = np.arange(camera.height, dtype=np.float64)
    grid = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-9)
    norm = cv2.undistortPoints(grid, camera.matrix, np.array(camera.dist), None, None, None, criteria)
    norm = np.asarray(norm, np.float64).reshape(camera.height, camera.width, 2)
    return norm[..., 0].copy(), norm[..., 1].copy()


def look_at(target: tuple[float, float, float], eye: tuple[float, float, float],
            roll_deg: float = 0.0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pose (R, t: world -> camera) of a camera at `eye` looking at `target` (world mm, z up)."""
    e = np.array(eye, np.float64)
    z = np.array(target, np.float64) - e
    z /= np.linalg.norm(z)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rot = np.stack([x, y, z])
    roll = np.deg2rad(roll_deg)
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    rot = rz @ rot
    return rot, -rot @ e


def render_plane(camera: Camera, rot: npt.NDArray[np.float64], t: npt.NDArray[np.float64],
                 texture: npt.NDArray[np.uint8], px_per_mm: float,
                 origin_mm: tuple[float, float] = (0.0, 0.0), z_mm: float = 0.0, fill: int = 0,
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """The plane z = z_mm carrying `texture` (pixel (0,0) at `origin_mm`) seen by the camera.

    Returns the image and a coverage mask in [0, 1] (where the texture is visible).
    """
    xn, yn = _rays(camera)
    centre = -rot.T @ t
    dx = rot[0, 0] * xn + rot[1, 0] * yn + rot[2, 0]
    dy = rot[0, 1] * xn + rot[1, 1] * yn + rot[2, 1]
    dz = rot[0, 2] * xn + rot[1, 2] * yn + rot[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (z_mm - centre[2]) / dz
    behind = ~(s > 0)
    map_x = ((centre[0] + s * dx - origin_mm[0]) * px_per_mm - 0.5).astype(np.float32)
    map_y = ((centre[1] + s * dy - origin_mm[1]) * px_per_mm - 0.5).astype(np.float32)
    map_x[behind] = -1e6
    map_y[behind] = -1e6
    border = cv2.BORDER_CONSTANT
    big = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=border, borderValue=(fill,) * 4)
    ones = np.ones(texture.shape[:2], np.float32)
    cover = cv2.remap(ones, map_x, map_y, cv2.INTER_LINEAR, borderMode=border, borderValue=0)
    size = camera.size
    image = cv2.resize(big, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(cover, size, interpolation=cv2.INTER_AREA)
    return np.asarray(image, np.uint8), np.asarray(mask, np.float32)


def degrade(image: npt.NDArray[np.uint8], rng: np.random.Generator, blur_sigma: float = 0.8,
            noise: float = 2.0) -> npt.NDArray[np.uint8]:
    """Lens blur and sensor noise."""
    out = image.astype(np.float32)
    if blur_sigma > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), blur_sigma), np.float32)
    out += rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def motion_blur(image: npt.NDArray[np.uint8], length: int, angle_deg: float = 0.0) -> npt.NDArray[np.uint8]:
    """Linear motion blur of `length` pixels along `angle_deg`."""
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle_deg, 1.0)
    k = np.asarray(cv2.warpAffine(k, rotation, (length, length)), np.float32)
    k /= k.sum()
    return np.asarray(cv2.filter2D(image, -1, k), np.uint8)


# -- scenes ---------------------------------------------------------------------------------

BOARD_PX_PER_MM = 5.0
BOARD_MARGIN_MM = 10.0


def board_texture(spec: BoardSpec) -> tuple[npt.NDArray[np.uint8], tuple[float, float]]:
    """The board with its white margin as printed on matt paper (not pure black/white); and its origin."""
    tex = render_board_texture(spec, BOARD_PX_PER_MM)
    tex = np.pad(tex, round(BOARD_MARGIN_MM * BOARD_PX_PER_MM), constant_values=255)
    smooth = cv2.GaussianBlur(tex.astype(np.float32) * 0.8 + 25, (0, 0), 0.7)
    return np.asarray(smooth, np.uint8), (-BOARD_MARGIN_MM, -BOARD_MARGIN_MM)


Pose = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def view_poses(spec: BoardSpec, count: int = 23) -> list[Pose]:
    """Poses that put the board all over the frame, flat and tilted, near and far, rolled."""
    centre = (spec.width_mm / 2, spec.height_mm / 2, 0.0)
    poses = []
    i = 0
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            tilts = ((0, 0), (1, 1)) if (dx, dy) != (0, 0) else ((0, 0), (1, -1), (-1, 1))
            for tx, ty in tilts:
                dist = 380.0 + 40.0 * ((i * 7) % 3)
                eye = (centre[0] + tx * dist * 0.45, centre[1] + ty * dist * 0.35, -dist)
                target = (centre[0] - dx * 190, centre[1] - dy * 105, 0.0)
                poses.append(look_at(target, eye, roll_deg=(i * 13) % 40 - 20))
                i += 1
    # The frame's corners, where distortion is strongest, tilted inwards.
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        dist = 420.0
        eye = (centre[0] - dx * dist * 0.25, centre[1] - dy * dist * 0.2, -dist)
        target = (centre[0] - dx * 200, centre[1] - dy * 112, 0.0)
        poses.append(look_at(target, eye, roll_deg=8.0 * dx))
    return poses[:count]


@functools.lru_cache(maxsize=4)
def board_views(spec: BoardSpec, camera: Camera = Camera(), count: int = 23, blur: float = 0.9,
                seed: int = 1) -> tuple[npt.NDArray[np.uint8], ...]:
    """`count` grey views of the board through the camera, with lens blur and sensor noise (cached)."""
    rng = np.random.default_rng(seed)
    tex, origin = board_texture(spec)
    views = []
    for rot, t in view_poses(spec, count):
        image, _mask = render_plane(camera, rot, t, tex, BOARD_PX_PER_MM, origin, fill=90)
        views.append(degrade(image, rng, blur, 2.0))
    return tuple(views)


BELT_GREY = 70
BELT_PX_PER_MM = 4.0
BELT_ORIGIN = (-550.0, -350.0)  # the belt texture covers x -550..550, y -350..350 mm (world)
BELT_SIZE_MM = (1100, 700)
BOARD_ON_BELT_MM = (-105.0, -75.0)  # world position of the board's origin when lying on the belt


def belt_texture(rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """An empty, slightly mottled grey belt, BGR."""
    w, h = round(BELT_SIZE_MM[0] * BELT_PX_PER_MM), round(BELT_SIZE_MM[1] * BELT_PX_PER_MM)
    # Mottling a few mm across: drawn coarse and enlarged (cheaper than full-size noise).
    coarse = rng.normal(0, 4, (h // 4, w // 4)).astype(np.float32)
    belt = BELT_GREY + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    belt = np.clip(belt, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(belt, cv2.COLOR_GRAY2BGR), np.uint8)


def belt_with_board(spec: BoardSpec, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """The belt with the board lying flat on it at BOARD_ON_BELT_MM."""
    scene = belt_texture(rng)
    board = render_board_texture(spec, BELT_PX_PER_MM)
    board = np.pad(board, round(8 * BELT_PX_PER_MM), constant_values=255)
    board = (board.astype(np.float32) * 0.8 + 25).astype(np.uint8)
    x = round((BOARD_ON_BELT_MM[0] - 8 - BELT_ORIGIN[0]) * BELT_PX_PER_MM)
    y = round((BOARD_ON_BELT_MM[1] - 8 - BELT_ORIGIN[1]) * BELT_PX_PER_MM)
    scene[y:y + board.shape[0], x:x + board.shape[1]] = board[..., None]
    return scene


def draw_box(scene: npt.NDArray[np.uint8], centre_mm: tuple[float, float], size_mm: tuple[float, float],
             angle_deg: float, colour: tuple[int, int, int]) -> None:
    """A flat rectangular item of exactly `size_mm` on the belt texture (world mm)."""
    # Texture pixel i covers [i, i+1) / px_per_mm, so a position p mm is at p * ppm - 0.5 in pixel centres.
    centre = ((centre_mm[0] - BELT_ORIGIN[0]) * BELT_PX_PER_MM - 0.5,
              (centre_mm[1] - BELT_ORIGIN[1]) * BELT_PX_PER_MM - 0.5)
    corners = cv2.boxPoints((centre, (size_mm[0] * BELT_PX_PER_MM, size_mm[1] * BELT_PX_PER_MM), angle_deg))
    cv2.fillConvexPoly(scene, np.round(corners * 16).astype(np.int32), colour, lineType=cv2.LINE_AA, shift=4)


TOP_CAMERA_EYE = (60.0, -150.0, -650.0)  # camera 650 mm from the belt, a little off to one side


def top_camera_pose() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The conveyor's top camera looking down at the belt (world origin)."""
    return look_at((0.0, 0.0, 0.0), TOP_CAMERA_EYE, roll_deg=5.0)
