"""Returned items as the dock camera sees them, deterministic in (seed, item index).

Each item index has a plan (`ItemPlan`: the RMA, the SKU the manifest expects, what is
really in the frame, the damage, the reason the customer declared) and a rendering
(`SyntheticItem`: the 1280 x 720 BGR frame, the damage mask and the ground truth). The
manifest of a run (`manifest_for`) is the plans' RMAs, so the station can be fed the
manifest first and the frames later, as in a warehouse.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import cv2
import numpy as np
import zxingcpp

from models.synthetic.artwork import (
    LABEL_SIZE_PX,
    Packaging,
    Rect,
    barcode_image,
    render_label,
    render_packaging,
    render_side,
)
from models.synthetic.catalog import Catalog, Sku
from models.synthetic.damage import Damage, apply_damage
from models.synthetic.scene import FRAME_SIZE, RAIL_PX, SIDE_BELT_Y, CameraEffects, Scene

logger = logging.getLogger(__name__)


class Case(StrEnum):
    """What a synthetic return is, as the inspection should find it."""

    GOOD = "good"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"  # packaging of another SKU than the RMA expects
    EMPTY = "empty"  # nothing arrived on the belt


class DeclaredReason(StrEnum):
    """Return reasons a customer can declare (the verdict's `item.declared_reason`)."""

    UNOPENED = "unopened"
    DEFECTIVE = "defective"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NO_LONGER_NEEDED = "no_longer_needed"


# Share of each case in a run; damaged items are split evenly over the damage types.
CASE_WEIGHTS: dict[Case, float] = {
    Case.GOOD: 0.48, Case.DAMAGED: 0.40, Case.WRONG_ITEM: 0.08, Case.EMPTY: 0.04,
}

_REASONS_BY_CASE: dict[Case, tuple[tuple[DeclaredReason, float], ...]] = {
    Case.GOOD: ((DeclaredReason.UNOPENED, 0.45), (DeclaredReason.NO_LONGER_NEEDED, 0.45),
                (DeclaredReason.DEFECTIVE, 0.10)),
    # A tenth of damaged returns claim "unopened": the mismatch fraud review must catch.
    Case.DAMAGED: ((DeclaredReason.DAMAGED, 0.55), (DeclaredReason.DEFECTIVE, 0.25),
                   (DeclaredReason.UNOPENED, 0.10), (DeclaredReason.NO_LONGER_NEEDED, 0.10)),
    Case.WRONG_ITEM: ((DeclaredReason.UNOPENED, 0.4), (DeclaredReason.NO_LONGER_NEEDED, 0.3),
                      (DeclaredReason.WRONG_ITEM, 0.2), (DeclaredReason.DEFECTIVE, 0.1)),
    Case.EMPTY: ((DeclaredReason.UNOPENED, 0.5), (DeclaredReason.NO_LONGER_NEEDED, 0.5)),
}

# Items not squared up by the conveyor guides.
FREE_ROTATION_SHARE = 0.05

# The cameras a station can have, named by where they stand. Items travel towards +x of the top
# view (left to right); "left" and "right" stand beside the belt (left and right of the direction
# of travel, at the top view's bottom and top edge), "front" looks at the item's leading face from
# down the belt, "back" at its trailing face from up the belt. A face is named after the camera
# that sees it.
VIEWS = ("top", "left", "right", "front", "back")
# Damage is only put on a side face at least this tall: the damage drawings are 60-170 mm
# across, and the 15-30 mm edge of a flat pouch is no place for a dent or a torn seal.
MIN_DAMAGE_FACE_MM = 60.0

_FIRST = ("Jane", "Omar", "Li", "Ana", "Tom", "Priya", "Lars", "Mia", "Kofi", "Eva", "Raj", "Zoe")
_LAST = ("Doe", "Smith", "Chen", "Silva", "Berg", "Okafor", "Novak", "Haas", "Patel", "Roux", "Kim", "Meyer")
_STREETS = ("Elm St", "Mill Rd", "High St", "Oak Ave", "Quay Ln", "Park Rd", "Hill Way", "Dock St")
_TOWNS = ("Leeds LS1", "Bath BA2", "York YO1", "Hull HU1", "Ely CB7", "Derby DE1", "Kent ME1", "Bury BL9")


@dataclass(frozen=True)
class ItemPlan:
    """What item `index` of a run is (decided before rendering; the manifest is made of these)."""

    index: int
    rma: str
    expected_sku: str
    observed_sku: str | None
    case: Case
    damage: Damage | None
    declared_reason: DeclaredReason
    customer: tuple[str, str, str]
    serial: str
    damage_face: str = "top"  # the face (named by the camera that sees it) the damage is on

    @property
    def mismatches(self) -> list[str]:
        """Deliberate contradictions in this return: "sku" (wrong item), "reason" (claims unopened
        but is damaged or opened), "empty" (nothing arrived)."""
        found = []
        if self.case is Case.WRONG_ITEM:
            found.append("sku")
        if self.case is Case.DAMAGED and self.declared_reason is DeclaredReason.UNOPENED:
            found.append("reason")
        if self.case is Case.EMPTY:
            found.append("empty")
        return found


@dataclass(frozen=True)
class ManifestEntry:
    """One expected return as the central system announces it (`station manifest import`)."""

    rma: str
    sku: str  # the SKU the return should contain
    declared_reason: str
    customer_name: str = ""
    customer_address: str = ""


@dataclass(frozen=True, eq=False)
class SyntheticItem:
    """One rendered return: the frame, where the damage is, and everything that is true about it."""

    frame_bgr: np.ndarray  # 720 x 1280 x 3 uint8
    sku: str | None  # what is really on the belt (None when empty)
    gtin: str | None
    rma: str
    expected_sku: str
    case: Case
    damage: str | None
    mask: np.ndarray  # 720 x 1280 uint8, 255 = damaged pixels
    declared_reason: str
    bbox: tuple[int, int, int, int] | None  # item's x, y, w, h in the frame
    truth: dict[str, Any] = field(default_factory=dict)


def _check_views(views: Sequence[str], what: str) -> tuple[str, ...]:
    """`views` as a tuple, or ValueError naming what is wrong."""
    names = tuple(views)
    unknown = [v for v in names if v not in VIEWS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"{what} must be distinct names among {', '.join(VIEWS)}, got {list(names)}")
    return names


def _weighted(rng: np.random.Generator, options: tuple[tuple[Any, float], ...]) -> Any:
    weights = np.array([w for _, w in options])
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def _pose(pack: Packaging, rng: np.random.Generator
          ) -> tuple[float, float, bool, np.ndarray, tuple[float, float]]:
    """Where the item lies on the belt, drawn from its pose stream: angle (degrees), scale, whether
    it lies at any angle, the texture-to-top-frame matrix and the item's centre in the top frame.
    Every view of an item replays it, so all cameras see the item in the same pose."""
    # Conveyor guides keep most items roughly square to the belt, in any of four orientations;
    # one in twenty lies at any angle (a plain 1D scan line cannot read it).
    free = bool(rng.random() < FREE_ROTATION_SHARE)
    angle = float(rng.uniform(0, 360)) if free else float(int(rng.integers(0, 4)) * 90 + rng.uniform(-10, 10))
    scale = float(rng.uniform(0.92, 1.08))
    th, tw = pack.texture.shape[:2]
    matrix = cv2.getRotationMatrix2D((tw / 2, th / 2), angle, scale)
    item_quad = np.array(_quad(matrix, pack.item_rect))
    span = item_quad.max(axis=0) - item_quad.min(axis=0)
    centre_offset = (item_quad.max(axis=0) + item_quad.min(axis=0)) / 2
    width, height = FRAME_SIZE
    lo_x, hi_x = 12 + span[0] / 2, width - 12 - span[0] / 2
    lo_y, hi_y = RAIL_PX + 6 + span[1] / 2, height - RAIL_PX - 6 - span[1] / 2
    cx = float(rng.uniform(lo_x, max(lo_x, hi_x)))
    cy = float(rng.uniform(lo_y, max(lo_y, hi_y)))
    matrix[:, 2] += (cx - centre_offset[0], cy - centre_offset[1])
    return angle, scale, free, matrix, (cx, cy)


def _quad(matrix: np.ndarray, rect: Rect) -> list[list[float]]:
    x0, y0, x1, y1 = rect
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64)
    return [[round(float(x), 1), round(float(y), 1)] for x, y in pts @ matrix.T]


class ReturnsGenerator:
    """Renders synthetic returns of a catalog's SKUs; item i of seed s is always the same image."""

    def __init__(self, catalog: Catalog | None = None, seed: int = 0) -> None:
        self.catalog = catalog if catalog is not None else Catalog.load()
        if len(self.catalog) < 2:
            raise ValueError("the generator needs at least two SKUs (wrong-item returns swap them)")
        self.seed = int(seed)
        self.scene = Scene(self.seed)
        self._packaging: dict[str, Packaging] = {}

    def packaging(self, sku: Sku) -> Packaging:
        """The SKU's rendered packaging, drawn once per generator."""
        if sku.sku not in self._packaging:
            self._packaging[sku.sku] = render_packaging(sku)
        return self._packaging[sku.sku]

    def plan(self, item_index: int, faces: Sequence[str] = ("top",)) -> ItemPlan:
        """What item `item_index` is: RMA, expected and observed SKU, case, damage, declared reason.

        A damaged item's damage is on one of `faces` (see `VIEWS`), drawn from the item's own
        random stream among those at least `MIN_DAMAGE_FACE_MM` tall (the top always is); the
        other draws do not depend on `faces`, so only `damage_face` changes with it.
        """
        if item_index < 0:
            raise ValueError(f"item_index must be >= 0, got {item_index}")
        faces = _check_views(faces, "faces")
        rng = np.random.default_rng([self.seed, item_index, 1])
        case = _weighted(rng, tuple(CASE_WEIGHTS.items()))
        skus = self.catalog.skus
        expected = skus[int(rng.integers(0, len(skus)))]
        observed: Sku | None = expected
        if case is Case.WRONG_ITEM:
            others = [s for s in skus if s.sku != expected.sku]
            observed = others[int(rng.integers(0, len(others)))]
        elif case is Case.EMPTY:
            observed = None
        damages = list(Damage)
        damage = damages[int(rng.integers(0, len(damages)))] if case is Case.DAMAGED else None
        reason = _weighted(rng, _REASONS_BY_CASE[case])
        damage_face = "top"
        if damage is not None and observed is not None:
            damage_face = self._damage_face(item_index, observed, faces)
        customer = (
            f"{_FIRST[int(rng.integers(0, len(_FIRST)))]} {_LAST[int(rng.integers(0, len(_LAST)))]}",
            f"{int(rng.integers(1, 99))} {_STREETS[int(rng.integers(0, len(_STREETS)))]}",
            _TOWNS[int(rng.integers(0, len(_TOWNS)))],
        )
        return ItemPlan(
            index=item_index,
            # The seed is part of the RMA: frames of two seeds never claim each other's returns.
            rma=f"R-{self.seed % 1000:03d}{item_index:06d}",
            expected_sku=expected.sku,
            observed_sku=observed.sku if observed else None,
            case=case,
            damage=damage,
            declared_reason=reason,
            customer=customer,
            serial=f"SN{self.seed % 1000:03d}{item_index:07d}",
            damage_face=damage_face,
        )

    def _damage_face(self, item_index: int, sku: Sku, faces: tuple[str, ...]) -> str:
        """The face a damaged item's damage is on (its own stream: the plan's other draws stay)."""
        # In the order of VIEWS: the same faces in another order draw the same face.
        named = [f for f in VIEWS if f in faces]
        eligible = [f for f in named if f == "top" or sku.height_mm >= MIN_DAMAGE_FACE_MM] or named
        if len(eligible) == 1:
            return eligible[0]
        rng = np.random.default_rng([self.seed, item_index, 6])
        return eligible[int(rng.integers(0, len(eligible)))]

    def manifest_for(self, n_items: int, start: int = 0) -> list[ManifestEntry]:
        """The RMAs of items start..start+n_items-1 with the SKU each should contain and the declared
        reason (some deliberately contradict the item: see `ItemPlan.mismatches`)."""
        return [
            ManifestEntry(p.rma, p.expected_sku, p.declared_reason.value, p.customer[0],
                          f"{p.customer[1]}, {p.customer[2]}")
            for p in (self.plan(i) for i in range(start, start + n_items))
        ]

    def generate(self, item_index: int) -> SyntheticItem:
        """Render item `item_index`: the frame, its damage mask and its ground truth."""
        return self.render(self.plan(item_index))

    def render(self, plan: ItemPlan) -> SyntheticItem:
        """Render a plan (normally `plan(i)`; a changed copy renders the same scene with that change).

        Pose, label, damage and camera draw from separate random streams of (seed, index), so
        the same plan without its damage gives the same frame except where the damage is.
        """
        item_index = plan.index
        streams = [np.random.default_rng([self.seed, item_index, k]) for k in (2, 3, 4, 5)]
        pose_rng, label_rng, damage_rng, rng = streams
        width, height = FRAME_SIZE
        frame = self.scene.background(rng)
        mask = np.zeros((height, width), np.uint8)
        truth = self._truth(plan)
        if plan.damage_face != "top":
            truth["damage_face"] = plan.damage_face
        bbox: tuple[int, int, int, int] | None = None
        sku: Sku | None = None
        if plan.observed_sku is not None:
            sku = self.catalog.get(plan.observed_sku)
            bbox = self._draw_item(frame, mask, sku, plan, (pose_rng, label_rng, damage_rng), truth)
        effects: CameraEffects = self.scene.finish(frame, rng)
        truth["camera"] = {
            "brightness": round(effects.brightness, 3),
            "noise_sigma": effects.noise_sigma,
        }
        truth["bbox"] = list(bbox) if bbox else None
        truth["damage_px"] = int(np.count_nonzero(mask))
        return self._item(plan, frame, mask, bbox, truth, shown=plan.damage_face == "top")

    def _truth(self, plan: ItemPlan) -> dict[str, Any]:
        """The ground truth every view of the plan shares (the view adds where things are)."""
        return {
            "index": plan.index,
            "seed": self.seed,
            "case": plan.case.value,
            "rma": plan.rma,
            "expected_sku": plan.expected_sku,
            "observed_sku": plan.observed_sku,
            "declared_reason": plan.declared_reason.value,
            "damage": plan.damage.value if plan.damage else None,
            "mismatches": plan.mismatches,
        }

    def _item(self, plan: ItemPlan, frame: np.ndarray, mask: np.ndarray,
              bbox: tuple[int, int, int, int] | None, truth: dict[str, Any], shown: bool) -> SyntheticItem:
        sku = self.catalog.get(plan.observed_sku) if plan.observed_sku is not None else None
        return SyntheticItem(
            frame_bgr=frame,
            sku=plan.observed_sku,
            gtin=sku.gtin if sku else None,
            rma=plan.rma,
            expected_sku=plan.expected_sku,
            case=plan.case,
            # The damage this frame shows: a view of an undamaged face shows none.
            damage=plan.damage.value if plan.damage and shown else None,
            mask=mask,
            declared_reason=plan.declared_reason.value,
            bbox=bbox,
            truth=truth,
        )

    def generate_views(self, item_index: int, views: Sequence[str],
                       faces: Sequence[str] | None = None) -> dict[str, SyntheticItem]:
        """Render item `item_index` as each of `views` sees it; a damaged item's damage is on one of
        `faces` (by default the faces the views see)."""
        views = _check_views(views, "views")
        return self.render_views(self.plan(item_index, faces if faces is not None else views), views)

    def render_views(self, plan: ItemPlan, views: Sequence[str]) -> dict[str, SyntheticItem]:
        """The item of `plan` as each camera of `views` (see `VIEWS`) sees it at the same moment.

        "top" is `render(plan)`; a side view shows the belt's edge and the backdrop, the item's
        upright face towards that camera standing on the belt (its size from the catalog's mm at
        the top view's scale, in the same pose), its shadow and that camera's own blur, light and
        noise, at the top view's frame size. The damage is drawn only in the view of
        `plan.damage_face`: each view's `mask`, `damage` and `truth["damage_px"]` say whether
        it shows any. Every view's truth names its `view` and the plan's `damage_face`.
        """
        views = _check_views(views, "views")
        out: dict[str, SyntheticItem] = {}
        for view in views:
            item = self.render(plan) if view == "top" else self._render_side(plan, view)
            item.truth["view"] = view
            item.truth["damage_face"] = plan.damage_face
            out[view] = item
        return out

    def _render_side(self, plan: ItemPlan, view: str) -> SyntheticItem:
        # Each camera has its own stream for belt position, optics, light and noise; the pose
        # replays the top view's stream and the damage draws from the same stream as on top.
        rng = np.random.default_rng([self.seed, plan.index, 7, VIEWS.index(view)])
        width, height = FRAME_SIZE
        frame = self.scene.side_background(rng)
        mask = np.zeros((height, width), np.uint8)
        truth = self._truth(plan)
        bbox: tuple[int, int, int, int] | None = None
        if plan.observed_sku is not None:
            bbox = self._draw_side(frame, mask, self.catalog.get(plan.observed_sku), plan, view, rng, truth)
        effects = self.scene.finish(frame, rng)
        truth["camera"] = {"brightness": round(effects.brightness, 3), "noise_sigma": effects.noise_sigma}
        truth["bbox"] = list(bbox) if bbox else None
        truth["damage_px"] = int(np.count_nonzero(mask))
        return self._item(plan, frame, mask, bbox, truth, shown=plan.damage_face == view)

    def side_packaging(self, sku: Sku, along: str) -> Packaging:
        """The SKU's side face ("length") or end face ("width"), drawn once per generator."""
        key = f"{sku.sku}/{along}"
        if key not in self._packaging:
            self._packaging[key] = render_side(sku, along)
        return self._packaging[key]

    def _draw_side(self, frame: np.ndarray, mask: np.ndarray, sku: Sku, plan: ItemPlan, view: str,
                   rng: np.random.Generator, truth: dict[str, Any]) -> tuple[int, int, int, int]:
        angle, scale, free, _matrix, (cx, cy) = _pose(
            self.packaging(sku), np.random.default_rng([self.seed, plan.index, 2]))
        # The item's length axis turned by `angle`: a camera looking across the belt (left,
        # right) sees the length face |cos| square on, one looking along it (front, back) |sin|.
        # The face more square on is the one it faces, narrowed by how far it is turned. (The
        # neighbouring face, a narrow squeezed strip at this angle, is left out: it carries no
        # damage of this view, and the demo defect model, trained on top views only, takes
        # squeezed print for damage.)
        c, s = abs(float(np.cos(np.radians(angle)))), abs(float(np.sin(np.radians(angle))))
        length_share, width_share = (c, s) if view in ("left", "right") else (s, c)
        if length_share >= width_share:
            along, facing, turned = "length", length_share, width_share
        else:
            along, facing, turned = "width", width_share, length_share
        pack = self.side_packaging(sku, along)
        tex = pack.texture.copy()
        tex_mask = None
        if plan.damage is not None and plan.damage_face == view:
            tex_mask = apply_damage(plan.damage, tex, pack.item_rect, [],
                                    np.random.default_rng([self.seed, plan.index, 4]), sku.form)

        # The face at the top view's scale, narrowed by how far it is turned away.
        th, tw = tex.shape[:2]
        fx, fy = scale * facing, scale
        size = (max(round(tw * fx), 1), max(round(th * fy), 1))
        face = cv2.resize(tex, size, interpolation=cv2.INTER_LINEAR)
        top, bottom = round(pack.item_rect[1] * fy), round(pack.item_rect[3] * fy)
        x0_face, x1_face = round(pack.item_rect[0] * fx), round(pack.item_rect[2] * fx)
        face_mask = None if tex_mask is None else cv2.resize(tex_mask, size, interpolation=cv2.INTER_NEAREST)

        # Where the camera sees it: along the belt for the side cameras, across it for the end
        # ones (the belt's 450 mm in the middle of their 800 mm of view); standing on the belt.
        width, height = FRAME_SIZE
        position = {"right": cx, "left": width - cx, "front": (width - height) / 2 + cy,
                    "back": (width + height) / 2 - cy}[view]
        fh, fw = face.shape[:2]
        ox = round(position - (x0_face + x1_face) / 2)
        oy = SIDE_BELT_Y - bottom
        fx0, fy0 = max(ox, 0), max(oy, 0)
        fx1, fy1 = min(ox + fw, width), min(oy + fh + 12, height)
        roi = frame[fy0:fy1, fx0:fx1]
        local = face[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
        alpha = np.zeros(roi.shape[:2], np.uint8)
        alpha[: local.shape[0], : local.shape[1]] = local[:, :, 3]
        # The lamp above the belt: a soft shadow on the backdrop behind and on the belt below.
        cast = np.zeros_like(alpha)
        dx, dy = 6, 8
        cast[dy:, dx:] = alpha[:-dy, :-dx] // 2
        shadow = cv2.blur(cast, (13, 13))
        keep = cv2.merge([255 - shadow] * 3)
        cv2.multiply(roi, keep, dst=roi, scale=1 / 255)
        painted = roi[: local.shape[0], : local.shape[1]]
        cv2.copyTo(cv2.cvtColor(local, cv2.COLOR_BGRA2BGR), (local[:, :, 3] > 127).view(np.uint8), painted)
        blur, motion = self.scene.defocus(roi, rng)
        if face_mask is not None:
            mask[fy0 : fy0 + local.shape[0], fx0 : fx0 + local.shape[1]] = \
                face_mask[fy0 - oy : fy0 - oy + local.shape[0], fx0 - ox : fx0 - ox + local.shape[1]]

        face_mm = (sku.length_mm if along == "length" else sku.width_mm, sku.height_mm)
        truth["optics"] = {"blur_sigma": round(blur, 3), "motion_px": motion}
        truth["pose"] = {"angle_deg": round(angle, 2), "scale": round(scale, 4), "free": free,
                         "centre": [round(float(cx), 1), round(float(cy), 1)]}
        truth["face"] = {"along": along, "size_mm": list(face_mm), "turned": round(turned, 4)}
        qx0, qy0 = ox + x0_face, oy + top
        qx1, qy1 = ox + x1_face, oy + bottom
        truth["item_quad"] = [[float(qx0), float(qy0)], [float(qx1), float(qy0)], [float(qx1), float(qy1)],
                              [float(qx0), float(qy1)]]
        x, y, w, h = cv2.boundingRect((alpha > 127).view(np.uint8))
        return int(x + fx0), int(y + fy0), int(w), int(h)

    def _draw_item(self, frame: np.ndarray, mask: np.ndarray, sku: Sku, plan: ItemPlan,
                   streams: tuple[np.random.Generator, np.random.Generator, np.random.Generator],
                   truth: dict[str, Any]) -> tuple[int, int, int, int]:
        rng, label_rng, damage_rng = streams
        pack = self.packaging(sku)
        tex = pack.texture.copy()
        label_rect, label_matrix = self._stick_label(tex, pack, plan, label_rng)
        avoid: list[Rect] = [pack.barcode_rect, label_rect]
        codes: dict[str, Any] = {"ean13": sku.gtin, "rma_qr": plan.rma}
        if pack.datamatrix_rect is not None:
            codes["gs1_datamatrix"] = self._print_datamatrix(tex, pack.datamatrix_rect, sku, plan)
            avoid.append(pack.datamatrix_rect)
        tex_mask = None
        if plan.damage is not None and plan.damage_face == "top":
            tex_mask = apply_damage(plan.damage, tex, pack.item_rect, avoid, damage_rng, sku.form)

        angle, scale, free, matrix, (cx, cy) = _pose(pack, rng)
        th, tw = tex.shape[:2]
        width, height = FRAME_SIZE

        corners = np.array(_quad(matrix, (0, 0, tw, th)))
        rx0, ry0 = np.floor(corners.min(axis=0)).astype(int)
        rx1, ry1 = np.ceil(corners.max(axis=0)).astype(int) + 12  # room for the shadow
        rx0, ry0 = max(rx0, 0), max(ry0, 0)
        rx1, ry1 = min(rx1, width), min(ry1, height)
        local = matrix.copy()
        local[:, 2] -= (rx0, ry0)
        size = (rx1 - rx0, ry1 - ry0)
        warped = cv2.warpAffine(tex, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=(0, 0, 0, 0))
        roi = frame[ry0:ry1, rx0:rx1]
        alpha = warped[:, :, 3]
        # A soft shadow offset towards the bottom right (lamp above the camera, slightly up-belt);
        # a box filter is as good as a Gaussian here and a fraction of the cost.
        cast = np.zeros_like(alpha)
        dx, dy = 6, 8
        cast[dy:, dx:] = alpha[:-dy, :-dx] // 2
        shadow = cv2.blur(cast, (13, 13))
        keep = cv2.merge([255 - shadow] * 3)
        cv2.multiply(roi, keep, dst=roi, scale=1 / 255)
        # Hard-edged paste: the camera blur applied afterwards softens the outline anyway.
        cv2.copyTo(cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR), (alpha > 127).view(np.uint8), roi)
        blur, motion = self.scene.defocus(roi, rng)
        truth["optics"] = {"blur_sigma": round(blur, 3), "motion_px": motion}

        if tex_mask is not None:
            warped_mask = cv2.warpAffine(tex_mask, local, size, flags=cv2.INTER_NEAREST)
            mask[ry0:ry1, rx0:rx1] = warped_mask

        truth["pose"] = {"angle_deg": round(angle, 2), "scale": round(scale, 4), "free": free,
                         "centre": [round(float(cx), 1), round(float(cy), 1)]}
        truth["item_quad"] = _quad(matrix, pack.item_rect)
        truth["barcode_quad"] = _quad(matrix, pack.barcode_rect)
        lw, lh = LABEL_SIZE_PX
        label_corners = np.array([[0, 0, 1], [lw, 0, 1], [lw, lh, 1], [0, lh, 1]], np.float64)
        label_full = np.vstack([label_matrix, [0, 0, 1]])
        item_full = np.vstack([matrix, [0, 0, 1]])
        label_pts = (item_full @ label_full @ label_corners.T).T[:, :2]
        truth["label_quad"] = [[round(float(x), 1), round(float(y), 1)] for x, y in label_pts]
        truth["codes"] = codes
        truth["customer"] = list(plan.customer)
        # The box of what is really there: an opened flap reaches past the outline, a crushed
        # corner cuts into it.
        x, y, w, h = cv2.boundingRect((alpha > 127).view(np.uint8))
        return int(x + rx0), int(y + ry0), int(w), int(h)

    def _stick_label(self, tex: np.ndarray, pack: Packaging, plan: ItemPlan,
                     rng: np.random.Generator) -> tuple[Rect, np.ndarray]:
        """Stick the return label in the label zone at a slight angle; returns its box and its matrix."""
        label = render_label(plan.rma, plan.customer)
        lh, lw = label.shape[:2]
        angle = float(rng.uniform(-6, 6))
        zx0, zy0, zx1, zy1 = pack.label_zone
        rot = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, 1.0)
        pts = np.array(_quad(rot, (0, 0, lw, lh)))
        span = pts.max(axis=0) - pts.min(axis=0)
        cx = rng.uniform(zx0 + span[0] / 2, max(zx0 + span[0] / 2, zx1 - span[0] / 2))
        cy = rng.uniform(zy0 + span[1] / 2, max(zy0 + span[1] / 2, zy1 - span[1] / 2))
        rot[:, 2] += (cx - lw / 2, cy - lh / 2)
        bx0, by0 = (int(v) for v in np.floor(np.array(_quad(rot, (0, 0, lw, lh))).min(axis=0)))
        bx1, by1 = (int(v) + 1 for v in np.ceil(np.array(_quad(rot, (0, 0, lw, lh))).max(axis=0)))
        local = rot.copy()
        local[:, 2] -= (bx0, by0)
        patch_size = (bx1 - bx0, by1 - by0)
        warped = cv2.warpAffine(label, local, patch_size, flags=cv2.INTER_LINEAR)
        cover = cv2.warpAffine(np.full((lh, lw), 255, np.uint8), local, patch_size, flags=cv2.INTER_LINEAR)
        region = tex[by0:by1, bx0:bx1]
        weight = cover.astype(np.float32) * (1 / 255)
        under = np.ascontiguousarray(region[:, :, :3])
        region[:, :, :3] = cv2.blendLinear(warped, under, weight, 1.0 - weight)
        return (bx0, by0, bx1, by1), rot

    def _print_datamatrix(self, tex: np.ndarray, rect: Rect, sku: Sku, plan: ItemPlan) -> dict[str, str]:
        """Print the item's GS1 DataMatrix (GTIN, serial, expiry, lot); returns its element strings."""
        fields = {"01": "0" + sku.gtin, "21": plan.serial, "17": "281231", "10": f"L{sku.gtin[-4:]}"}
        content = "".join(f"({ai}){value}" for ai, value in fields.items())
        symbol = barcode_image(content, zxingcpp.BarcodeFormat.DataMatrix, scale=3, gs1=True)
        x0, y0, x1, y1 = rect
        side = min(x1 - x0, y1 - y0)
        symbol = cv2.resize(symbol, (side, side), interpolation=cv2.INTER_NEAREST)
        tex[y0 : y0 + side, x0 : x0 + side, :3] = symbol[:, :, None]
        return fields
