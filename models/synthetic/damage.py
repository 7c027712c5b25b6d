"""Damage drawn onto a packaging texture, each with the pixel mask of where it is.

Every function takes the item's BGRA texture (changed in place), the item rectangle, the
rectangles damage must stay off (the printed codes, so a damaged item is still
identifiable, as most real ones are) and a random generator; it returns the mask
(uint8, 255 = damaged) in texture coordinates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from enum import StrEnum

import cv2
import numpy as np

from models.synthetic.artwork import Rect
from models.synthetic.catalog import Form

logger = logging.getLogger(__name__)

Rng = np.random.Generator


class Damage(StrEnum):
    """The damage classes the generator renders (also the defect training folders' names)."""

    SCRATCH = "scratch"
    DENT = "dent"
    TEAR = "tear"
    STAIN = "stain"
    CRUSHED_CORNER = "crushed_corner"
    OPENED_SEAL = "opened_seal"


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pick_centre(rng: Rng, item: Rect, avoid: Sequence[Rect], radius: int) -> tuple[int, int]:
    """A point at least `radius` inside the item whose square of that radius misses `avoid`."""
    x0, y0, x1, y1 = item
    lo_x, hi_x = x0 + radius, max(x0 + radius + 1, x1 - radius)
    lo_y, hi_y = y0 + radius, max(y0 + radius + 1, y1 - radius)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    for _ in range(40):
        cx = int(rng.integers(lo_x, hi_x))
        cy = int(rng.integers(lo_y, hi_y))
        if not any(_overlaps((cx - radius, cy - radius, cx + radius, cy + radius), r) for r in avoid):
            break
    return cx, cy


def _blob(rng: Rng, centre: tuple[int, int], radius: float, points: int, jag: float) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * np.pi, points))
    radii = radius * rng.uniform(1 - jag, 1 + jag * 0.4, points)
    xs = centre[0] + radii * np.cos(angles)
    ys = centre[1] + radii * np.sin(angles)
    return np.stack([xs, ys], axis=1).astype(np.int32)


def scratch(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """Scuffs through the print: a few thin curves that show the board under the ink (light on dark
    print, dark grey on light print) with a faint halo of smeared ink."""
    mask: np.ndarray = np.zeros(tex.shape[:2], np.uint8)
    rgb = tex[:, :, :3].astype(np.float32)
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = _pick_centre(rng, item, avoid, 30)
        length = rng.uniform(80, 180)
        angle = rng.uniform(0, np.pi)
        bend = rng.uniform(-25, 25)
        t = np.linspace(-0.5, 0.5, 24)
        xs = cx + t * length * np.cos(angle) - bend * (t**2 - 0.25) * np.sin(angle)
        ys = cy + t * length * np.sin(angle) + bend * (t**2 - 0.25) * np.cos(angle)
        pts = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
        line: np.ndarray = np.zeros(tex.shape[:2], np.uint8)
        cv2.polylines(line, [pts], False, 255, int(rng.integers(3, 5)), cv2.LINE_AA)
        line = cv2.bitwise_and(line, tex[:, :, 3])
        under = rgb[line > 127]
        luma = float(under.mean(axis=0) @ np.array([0.114, 0.587, 0.299])) if len(under) else 128.0
        # The scuff must differ from the print it cuts through, or a camera would not see it either.
        scuff = np.array([230, 232, 235] if luma < 140 else [70, 72, 78], np.float32)
        halo = cv2.GaussianBlur(line, (0, 0), 2.5)
        cover = np.maximum(line, halo // 3).astype(np.float32) / 255.0
        strength = (cover * rng.uniform(0.8, 0.95))[:, :, None]
        rgb = rgb * (1 - strength) + scuff * strength
        mask = cv2.max(mask, line)
    tex[:, :, :3] = rgb.astype(np.uint8)
    return cv2.dilate((mask > 60).astype(np.uint8) * 255, np.ones((5, 5), np.uint8))


def dent(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """A dent: a bowl-shaped dip lit from one side (dark slope, bright slope) with a crease rim."""
    h, w = tex.shape[:2]
    radius = float(rng.uniform(30, 52))
    cx, cy = _pick_centre(rng, item, avoid, int(radius))
    sx, sy = radius * rng.uniform(0.8, 1.3), radius * rng.uniform(0.8, 1.3)
    x0, x1 = max(0, int(cx - 2 * sx)), min(w, int(cx + 2 * sx) + 1)
    y0, y1 = max(0, int(cy - 2 * sy)), min(h, int(cy + 2 * sy) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u, v = (xx - cx) / sx, (yy - cy) / sy
    r2 = u * u + v * v
    # The window ends the dent at 1.6 radii, so the mask below holds all of its shading.
    bump = np.exp(-r2) * np.clip(1 - (r2 / 2.56) ** 2, 0, 1)
    light = rng.uniform(0, 2 * np.pi)
    # The slope facing the light brightens, the other darkens: the look of a dent under a lamp.
    slope = -2 * bump * (u * np.cos(light) + v * np.sin(light))
    gain = 1.0 + rng.uniform(0.7, 0.95) * slope - 0.25 * bump
    highlight = 60 * np.maximum(slope, 0)[:, :, None]
    patch = tex[y0:y1, x0:x1, :3].astype(np.float32) * gain[:, :, None] + highlight
    inside = tex[y0:y1, x0:x1, 3] > 0
    patch_u8 = np.clip(patch, 0, 255).astype(np.uint8)
    # Creases where the board buckled: a dark arc on the shadowed rim, a bright one facing the lamp.
    angle_deg = float(np.degrees(light))
    axes = (int(sx * 0.9), int(sy * 0.9))
    centre = (cx - x0, cy - y0)
    cv2.ellipse(patch_u8, centre, axes, angle_deg + 180, -70, 70, (25, 25, 25), 2, cv2.LINE_AA)
    cv2.ellipse(patch_u8, centre, axes, angle_deg, -60, 60, (235, 235, 235), 2, cv2.LINE_AA)
    tex[y0:y1, x0:x1, :3][inside] = patch_u8[inside]
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = ((r2 < 2.56) & inside).astype(np.uint8) * 255
    cv2.ellipse(mask, (cx, cy), axes, 0, 0, 360, 255, 5)
    return cv2.bitwise_and(mask, tex[:, :, 3])


def tear(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """A hole torn through the packaging: jagged edge, white fibres, what lies under showing through."""
    radius = float(rng.uniform(18, 36))
    cx, cy = _pick_centre(rng, item, avoid, int(radius * 1.3))
    hole = _blob(rng, (cx, cy), radius, int(rng.integers(14, 24)), 0.55)
    hole[:, 0] = cx + (hole[:, 0] - cx) * rng.uniform(1.0, 1.8)  # tears run long
    mask: np.ndarray = np.zeros(tex.shape[:2], np.uint8)
    cv2.fillPoly(mask, [hole], 255)
    mask = cv2.bitwise_and(mask, tex[:, :, 3])
    inside = mask > 0
    # Corrugated cardboard under a box's print; the product's dark inner bag under a pouch.
    under = np.array([70, 120, 165] if form is Form.BOX else [58, 60, 66], np.uint8)
    tex[:, :, :3][inside] = under
    if form is Form.BOX:
        ys, xs = np.nonzero(inside)
        flutes = (ys % 7 < 2)
        tex[ys[flutes], xs[flutes], :3] = (50, 92, 130)
    # Torn paper shows a ragged light fringe and casts a shadow into the hole.
    cv2.polylines(tex, [hole.reshape(-1, 1, 2)], True, (235, 238, 240, 255), 3, cv2.LINE_AA)
    shadow = hole.copy()
    shadow[:, 1] += 4
    cv2.polylines(tex, [shadow.reshape(-1, 1, 2)], True, (25, 25, 25, 255), 2, cv2.LINE_AA)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8))


def stain(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """A dried spill: a translucent brown blob with a darker tide mark at its rim."""
    h, w = tex.shape[:2]
    radius = float(rng.uniform(28, 50))
    cx, cy = _pick_centre(rng, item, avoid, int(radius))
    blob: np.ndarray = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        ox, oy = rng.normal(0, radius * 0.45, 2)
        spot = int(radius * rng.uniform(0.4, 0.8))
        cv2.circle(blob, (int(cx + ox), int(cy + oy)), spot, 255, -1, cv2.LINE_AA)
    blob = cv2.GaussianBlur(blob, (0, 0), 3)
    blob = cv2.bitwise_and(blob, tex[:, :, 3])
    rim = cv2.morphologyEx(blob, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8))
    under = tex[max(cy - 3, 0) : cy + 4, max(cx - 3, 0) : cx + 4, :3].reshape(-1, 3).mean(axis=0)
    if float(under @ np.array([0.114, 0.587, 0.299])) < 100:
        # On dark print a dried spill shows as a pale, dull tide mark.
        colour = np.array((150, 170, 185), np.float32)
    else:
        colour = np.array([(30, 65, 110), (30, 45, 60), (45, 95, 140)][int(rng.integers(0, 3))], np.float32)
    opacity = rng.uniform(0.6, 0.85)
    a = (blob.astype(np.float32) / 255.0 * opacity + rim.astype(np.float32) / 255.0 * 0.35)[:, :, None]
    a = np.clip(a, 0, 0.95)
    rgb = tex[:, :, :3].astype(np.float32)
    tex[:, :, :3] = (rgb * (1 - a) + colour * a).astype(np.uint8)
    return ((blob > 40).astype(np.uint8) * 255)


def crushed_corner(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """A corner pushed in: the tip folds under (outline cut), crumpled and shadowed near the fold."""
    x0, y0, x1, y1 = item
    corners = [(x0, y0, 1, 1), (x1 - 1, y0, -1, 1), (x0, y1 - 1, 1, -1), (x1 - 1, y1 - 1, -1, -1)]
    order = rng.permutation(4)
    size_x = int(rng.uniform(45, 85))
    size_y = int(rng.uniform(45, 85))
    for index in order:  # prefer a corner away from the printed codes
        px, py, dx, dy = corners[int(index)]
        box = (min(px, px + dx * size_x), min(py, py + dy * size_y), max(px, px + dx * size_x),
               max(py, py + dy * size_y))
        if not any(_overlaps(box, r) for r in avoid):
            break
    corner = np.array([[px, py], [px + dx * size_x, py], [px, py + dy * size_y]], np.int32)
    mask = np.zeros(tex.shape[:2], np.uint8)
    cv2.fillPoly(mask, [corner], 255)
    # Damaged zone: the crushed tip and a band of crumpled material beyond the fold line.
    zone = np.array([[px, py], [px + dx * int(size_x * 1.5), py], [px, py + dy * int(size_y * 1.5)]],
                    np.int32)
    cv2.fillPoly(mask, [zone], 255)
    # The folded-under tip leaves a ragged edge, not a straight cut.
    t = np.linspace(0, 1, 9)[:, None]
    edge = (1 - t) * np.array([px + dx * size_x * 0.75, py]) + t * np.array([px, py + dy * size_y * 0.75])
    edge += rng.normal(0, 3, edge.shape)
    cut = np.vstack([[px - dx * 2, py - dy * 2], edge]).astype(np.int32)
    cv2.fillPoly(tex, [cut], (0, 0, 0, 0))
    region = (mask > 0) & (tex[:, :, 3] > 0)
    rgb = tex[:, :, :3].astype(np.float32)
    rgb[region] = rgb[region] * 0.5 + 12
    tex[:, :, :3] = rgb.astype(np.uint8)
    fold_a = (px + dx * int(size_x * 0.75), py)
    fold_b = (px, py + dy * int(size_y * 0.75))
    cv2.polylines(tex, [edge.astype(np.int32).reshape(-1, 1, 2)], False, (20, 20, 20, 255), 3, cv2.LINE_AA)
    for _ in range(int(rng.integers(3, 6))):
        along = float(rng.uniform(0.1, 0.9))
        sx = int(fold_a[0] * along + fold_b[0] * (1 - along))
        sy = int(fold_a[1] * along + fold_b[1] * (1 - along))
        ex = sx + dx * int(rng.uniform(8, size_x * 0.7))
        ey = sy + dy * int(rng.uniform(8, size_y * 0.7))
        colour = (215, 215, 215, 255) if rng.random() < 0.5 else (35, 35, 35, 255)
        cv2.line(tex, (sx, sy), (ex, ey), colour, 2, cv2.LINE_AA)
    return mask


def opened_seal(tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: Rng, form: Form) -> np.ndarray:
    """The package opened: a box lid flap lifted (dark gap, flap beyond the outline, cut tape) or a
    pouch's seal torn open along one end."""
    x0, y0, x1, y1 = item
    h, w = tex.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    if form is Form.BOX:
        # The lid opens along the top or bottom long edge (the barcode sits bottom right, so top).
        gap = int(rng.uniform(14, 24))
        left = x0 + int(rng.uniform(0.05, 0.3) * (x1 - x0))
        right = x1 - int(rng.uniform(0.05, 0.3) * (x1 - x0))
        cv2.rectangle(tex, (left, y0), (right, y0 + gap), (22, 22, 26, 255), -1)
        lift = int(rng.uniform(10, min(24, y0 - 2)))
        skew = int(rng.uniform(-10, 10))
        flap = np.array([[left, y0], [right, y0], [right + skew, y0 - lift], [left + skew, y0 - lift]],
                        np.int32)
        base = tex[y0 + gap + 6, (left + right) // 2, :3].astype(int)
        flap_colour = (*tuple(int(c) for c in np.clip(base * 1.25 + 20, 0, 255)), 255)
        cv2.fillPoly(tex, [flap], flap_colour, cv2.LINE_AA)
        cv2.polylines(tex, [flap.reshape(-1, 1, 2)], True, (40, 40, 40, 255), 1, cv2.LINE_AA)
        # Cut tape: a translucent strip hanging at both sides of the opening.
        for tx in (left + int(rng.uniform(8, 30)), right - int(rng.uniform(8, 30))):
            cv2.rectangle(tex, (tx - 5, y0 - lift + 2), (tx + 5, y0 + gap + 10), (200, 215, 215, 255), -1)
        cv2.fillPoly(mask, [flap], 255)
        cv2.rectangle(mask, (left, y0), (right, y0 + gap + 10), 255, -1)
    else:
        # A pouch is torn open along one crimped end: a ragged dark slit and the seal strip bent back.
        end_x = x0 + 10 if rng.random() < 0.5 else x1 - 11
        direction = 1 if end_x < (x0 + x1) // 2 else -1
        top = y0 + int(rng.uniform(0.05, 0.25) * (y1 - y0))
        bottom = y1 - int(rng.uniform(0.05, 0.25) * (y1 - y0))
        ys = np.arange(top, bottom, 4)
        xs = end_x + direction * (6 + rng.integers(0, 7, len(ys)))
        back = np.full(len(ys), end_x + direction * 20)
        slit = np.concatenate([np.stack([xs, ys], 1), np.stack([back, ys[::-1]], 1)]).astype(np.int32)
        cv2.fillPoly(tex, [slit], (25, 25, 30, 255), cv2.LINE_AA)
        outer = end_x - direction * 10
        flap = np.array([[outer, top], [outer, bottom], [outer - direction * 18, bottom - 8],
                         [outer - direction * 18, top + 8]], np.int32)
        base = tex[(top + bottom) // 2, end_x + direction * 40, :3].astype(int)
        flap_colour = (*tuple(int(c) for c in np.clip(base * 1.2 + 25, 0, 255)), 255)
        cv2.fillPoly(tex, [flap], flap_colour, cv2.LINE_AA)
        cv2.fillPoly(mask, [slit], 255)
        cv2.fillPoly(mask, [flap], 255)
        inner = end_x + direction * 20
        cv2.rectangle(mask, (min(outer, inner), top), (max(outer, inner), bottom), 255, -1)
    return mask


DamageFn = Callable[[np.ndarray, Rect, Sequence[Rect], np.random.Generator, Form], np.ndarray]

DAMAGE_FUNCTIONS: dict[Damage, DamageFn] = {
    Damage.SCRATCH: scratch,
    Damage.DENT: dent,
    Damage.TEAR: tear,
    Damage.STAIN: stain,
    Damage.CRUSHED_CORNER: crushed_corner,
    Damage.OPENED_SEAL: opened_seal,
}


def apply_damage(kind: Damage, tex: np.ndarray, item: Rect, avoid: Sequence[Rect], rng: np.random.Generator,
                 form: Form) -> np.ndarray:
    """Draw one damage of `kind` onto `tex` (in place); returns its mask (uint8, 255 = damaged).

    The mask stays within the item's outline as printed, plus anything the damage added to it
    (an opened flap); the missing tip of a crushed corner is part of the damage and so is masked.
    """
    outline = tex[:, :, 3].copy()
    mask = DAMAGE_FUNCTIONS[kind](tex, item, avoid, rng, form)
    on_item = cv2.bitwise_and(mask, cv2.max(outline, tex[:, :, 3]))
    # Binary, as the training layout promises (anti-aliased outlines leave grey values).
    return np.where(on_item > 127, 255, 0).astype(np.uint8)
