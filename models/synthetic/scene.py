"""The conveyor under the dock camera, and what the camera adds: uneven light, blur, noise.

Work done once per generator (the belt texture, the noise fields) is cached so that a frame
costs a copy, a few saturating OpenCV passes and the item's own pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

logger = logging.getLogger(__name__)

FRAME_SIZE = (1280, 720)  # width, height
# The belt runs along x; items keep this far from its top and bottom edges (the side guides).
RAIL_PX = 34
BELT_TRAVEL_PX = 360  # how far the belt texture can be shifted between frames
# A camera beside the belt looks across it just above the belt's surface: the belt's edge is the
# bottom of its frame and items stand on this line.
SIDE_BELT_Y = 684
_NOISE_PAD = 64


@dataclass(frozen=True)
class CameraEffects:
    """What `Scene.finish` did to a frame (recorded in the ground truth)."""

    brightness: float
    gradient: tuple[float, float]
    tint: float
    noise_sigma: float


class Scene:
    """The belt background and the camera's imperfections, deterministic in the seed."""

    def __init__(self, seed: int, size: tuple[int, int] = FRAME_SIZE) -> None:
        self.size = size
        rng = np.random.default_rng([seed, 0x5CE4E])
        self._belt = self._render_belt(rng)
        self._noise: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._noise_seed = seed
        self._side: np.ndarray | None = None

    def _render_belt(self, rng: np.random.Generator) -> np.ndarray:
        width, height = self.size
        total = width + BELT_TRAVEL_PX
        # Rubber: dark grey with lengthwise streaks (wear along the direction of travel).
        rows = cv2.GaussianBlur(rng.normal(0, 6, (height, 1)).astype(np.float32), (1, 0), sigmaX=1, sigmaY=2)
        coarse = rng.normal(0, 5, (height // 2, total // 8)).astype(np.float32)
        grain = cv2.resize(coarse, (total, height), interpolation=cv2.INTER_LINEAR)
        grey = 88 + rows + grain
        belt = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        belt[:, :, 0] = np.minimum(belt[:, :, 0].astype(np.int16) + 4, 255)  # bluish under LED light
        # Splices across the belt, one per travel period, so motion is visible frame to frame.
        for x in range(180, total, 620):
            cv2.line(belt, (x, RAIL_PX), (x + 6, height - RAIL_PX), (70, 70, 72), 3, cv2.LINE_AA)
        # Side rails stay out of the picture: the belt fills the frame, so a locator that takes the
        # frame's border as "belt" (vision.locate) sees the belt there.
        for top in (RAIL_PX // 2, height - RAIL_PX // 2):
            cv2.line(belt, (0, top), (total, top), (78, 78, 80), 2, cv2.LINE_AA)  # worn guide tracks
        return belt

    def background(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh frame of empty belt at a random belt position (BGR uint8, owned by the caller)."""
        width, _height = self.size
        offset = int(rng.integers(0, BELT_TRAVEL_PX))
        return self._belt[:, offset : offset + width].copy()

    def side_background(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh frame of what a camera beside the belt sees with nothing on it: the matt grey
        backdrop on the far side and the belt's edge along the bottom (BGR uint8, owned by the
        caller). Both stay close to the belt's grey so that the locator (vision.locate), which
        takes the frame's border as the background, sees one background."""
        if self._side is None:
            # Its own random stream: the top view's belt and every top frame stay as they were.
            self._side = self._render_side(np.random.default_rng([self._noise_seed, 0x51DE]))
        width, _height = self.size
        offset = int(rng.integers(0, BELT_TRAVEL_PX))
        return self._side[:, offset : offset + width].copy()

    def _render_side(self, rng: np.random.Generator) -> np.ndarray:
        width, height = self.size
        total = width + BELT_TRAVEL_PX
        # Backdrop: a painted panel, lit from above (a little brighter at the top), with seams.
        coarse = rng.normal(0, 3, (height // 8, total // 8)).astype(np.float32)
        grain = cv2.resize(coarse, (total, height), interpolation=cv2.INTER_LINEAR)
        light = np.linspace(8, -4, height, dtype=np.float32)[:, None]
        grey = 90 + light + grain
        for x in range(240, total, 430):
            grey[:SIDE_BELT_Y, x : x + 3] -= 9
        # The belt's edge: rubber seen at a grazing angle, its worn guide track a lighter line.
        edge = slice(SIDE_BELT_Y, height)
        grey[edge] = 86 + rng.normal(0, 2.5, (height - SIDE_BELT_Y, total)).astype(np.float32)
        grey[SIDE_BELT_Y : SIDE_BELT_Y + 2] = 80
        grey[SIDE_BELT_Y + 14 : SIDE_BELT_Y + 16] = 95
        side = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        side[:, :, 0] = np.minimum(side[:, :, 0].astype(np.int16) + 4, 255)  # the same LED light
        return side

    def _noise_fields(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        if sigma not in self._noise:
            width, height = self.size
            rng = np.random.default_rng([self._noise_seed, int(sigma * 100), 0x401CE])
            field = rng.normal(0, sigma, (height + _NOISE_PAD, width + _NOISE_PAD, 3)).astype(np.float32)
            positive = np.clip(field, 0, 255).astype(np.uint8)
            negative = np.clip(-field, 0, 255).astype(np.uint8)
            self._noise[sigma] = (positive, negative)
        return self._noise[sigma]

    def finish(self, frame: np.ndarray, rng: np.random.Generator) -> CameraEffects:
        """Apply uneven lighting and sensor noise to `frame` in place."""
        width, height = self.size
        brightness = float(rng.uniform(0.8, 1.2))
        gx, gy = (float(v) for v in rng.uniform(-0.25, 0.25, 2))
        tint = float(rng.uniform(-0.06, 0.06))
        xs = np.linspace(-0.5, 0.5, 32, dtype=np.float32)[None, :]
        ys = np.linspace(-0.5, 0.5, 18, dtype=np.float32)[:, None]
        vignette = 1.0 - 0.35 * (xs * xs + ys * ys)
        gain = brightness * (1.0 + gx * xs + gy * ys) * vignette
        small = np.stack([gain * (1 - tint), gain, gain * (1 + tint)], axis=2)
        gain_map = cv2.resize(np.clip(small * 128, 0, 255).astype(np.uint8), (width, height),
                              interpolation=cv2.INTER_LINEAR)
        cv2.multiply(frame, gain_map, dst=frame, scale=1 / 128)

        sigma = float(rng.choice([2.0, 3.5, 5.0]))
        positive, negative = self._noise_fields(sigma)
        ox, oy = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
        cv2.add(frame, positive[oy : oy + height, ox : ox + width], dst=frame)
        ox, oy = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
        cv2.subtract(frame, negative[oy : oy + height, ox : ox + width], dst=frame)

        return CameraEffects(brightness, (gx, gy), tint, sigma)

    @staticmethod
    def defocus(region: np.ndarray, rng: np.random.Generator) -> tuple[float, int]:
        """Blur `region` (the item's part of the frame) in place as the lens and belt motion do;
        returns (Gaussian sigma, horizontal motion in px)."""
        # Only the item needs it: the belt texture is smooth already, and sensor noise (added
        # later by `finish`) is not blurred by the optics.
        blur = float(rng.uniform(0.3, 0.8))
        # A 5-tap kernel holds a Gaussian up to sigma 1 well enough and costs half the default 7.
        cv2.GaussianBlur(region, (5, 5), blur, dst=region)
        motion = int(rng.choice([1, 1, 1, 2]))
        if motion > 1:
            # The belt moves along x: motion blur smears horizontally only.
            cv2.blur(region, (motion, 1), dst=region)
        return blur, motion
