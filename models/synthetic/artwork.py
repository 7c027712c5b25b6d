"""Printed artwork: a SKU's packaging (top face, with its real EAN-13) and the return label.

Everything is drawn at the dock camera's scale (`PX_PER_MM`) so that a frame needs no
resampling beyond the item's pose. The packaging is BGRA: alpha is the item's outline,
inside a transparent margin where an opened flap or a shadow can reach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from models.synthetic.catalog import Form, Logo, Pattern, Sku

logger = logging.getLogger(__name__)

# The demo camera sees 800 x 450 mm of belt in a 1280 x 720 frame.
PX_PER_MM = 1.6
# Transparent border around the item in the packaging texture (opened flaps reach into it).
MARGIN_PX = 28
# EAN-13 module width in pixels: ~1.6 mm bars (five times nominal), a print large enough for a
# 1280 x 720 dock camera.
EAN_MODULE_PX = 2.5
# Bars a quarter as tall as wide: a scan line still crosses them all at up to ~15 degrees of tilt.
EAN_BAR_HEIGHT_PX = 64
LABEL_SIZE_PX = (152, 96)  # 95 x 60 mm return label
QR_MODULE_PX = 4
DATAMATRIX_PX = 66  # 22 x 22 modules at 3 px
# A side face lower than this (105 mm) carries a plain band, not the product name: the station
# stretches its crop to a square, and a low face's name band stretched so reads as a lifted lid
# or scuffs to a model that has only seen top faces (0.20 false alarms on clean side views
# instead of 0.05; models/README.md).
NAME_FACE_PX = 168

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


@dataclass(frozen=True)
class Packaging:
    """The rendered top face of one SKU and where its printed parts are (texture pixels)."""

    sku: Sku
    texture: np.ndarray  # H x W x 4 uint8, BGRA; alpha = item outline
    item_rect: Rect
    barcode_rect: Rect  # the EAN-13 with its quiet zone
    label_zone: Rect  # where the return label may be stuck
    datamatrix_rect: Rect | None  # reserved for the per-item GS1 DataMatrix


def _luma(bgr: tuple[int, int, int]) -> float:
    blue, green, red = bgr
    return 0.114 * blue + 0.587 * green + 0.299 * red


def _contrast(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    return (20, 20, 20) if _luma(bgr) > 140 else (245, 245, 245)


def _shade(bgr: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    blue, green, red = (int(np.clip(c * factor, 0, 255)) for c in bgr)
    return blue, green, red


def barcode_image(content: str, fmt: zxingcpp.BarcodeFormat, scale: int = 1, gs1: bool = False,
                  quiet_zone: bool = True) -> np.ndarray:
    """A printed barcode as a grey uint8 image (dark bars on white, with quiet zones unless told not)."""
    kwargs = {"gs1": True} if gs1 else {}
    code = zxingcpp.create_barcode(content, fmt, **kwargs)
    image = code.to_image(scale=scale, add_quiet_zones=quiet_zone)
    return np.ascontiguousarray(np.asarray(image), dtype=np.uint8)


def ean13_image(gtin: str) -> np.ndarray:
    """The SKU's EAN-13 at `EAN_MODULE_PX` per module with its digits printed underneath."""
    bars = barcode_image(gtin[:12], zxingcpp.BarcodeFormat.EAN13)
    modules = bars.shape[1]
    width = round(modules * EAN_MODULE_PX)
    # One row of modules is enough: the bars are vertical.
    middle = bars.shape[0] // 2
    row = cv2.resize(bars[middle : middle + 1], (width, 1), interpolation=cv2.INTER_AREA)
    digits_h = 16
    out = np.full((EAN_BAR_HEIGHT_PX + digits_h, width), 255, np.uint8)
    out[:EAN_BAR_HEIGHT_PX] = row
    text = f"{gtin[0]} {gtin[1:7]} {gtin[7:]}"
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, _th), _ = cv2.getTextSize(text, font, 0.42, 1)
    cv2.putText(out, text, ((width - tw) // 2, EAN_BAR_HEIGHT_PX + 13), font, 0.42, 0, 1, cv2.LINE_AA)
    return out


def _draw_pattern(face: np.ndarray, pattern: Pattern, colour: tuple[int, int, int], top: int) -> None:
    _h, w = face.shape[:2]
    region = face[top:]
    rh = region.shape[0]
    if pattern is Pattern.STRIPES:
        for y in range(8, rh, 26):
            cv2.rectangle(region, (0, y), (w, y + 9), colour, -1)
    elif pattern is Pattern.DIAGONAL:
        for x in range(-rh, w, 34):
            cv2.line(region, (x, rh), (x + rh, 0), colour, 11, cv2.LINE_AA)
    elif pattern is Pattern.DOTS:
        for y in range(14, rh, 30):
            for x in range(14 + (y // 30 % 2) * 15, w, 30):
                cv2.circle(region, (x, y), 6, colour, -1, cv2.LINE_AA)
    elif pattern is Pattern.BAND:
        cv2.rectangle(region, (0, rh // 3), (w, rh // 3 + max(rh // 5, 12)), colour, -1)
    elif pattern is Pattern.CHECKER:
        cell = 24
        for y in range(0, rh, cell):
            for x in range((y // cell % 2) * cell, w, 2 * cell):
                cv2.rectangle(region, (x, y), (x + cell - 1, y + cell - 1), colour, -1)
    elif pattern is Pattern.WAVES:
        xs = np.arange(0, w, 4)
        for y0 in range(10, rh, 28):
            ys = y0 + 6 * np.sin(xs / 18.0)
            pts = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(region, [pts], False, colour, 5, cv2.LINE_AA)


def _draw_logo(face: np.ndarray, logo: Logo, centre: tuple[int, int], size: int, colour: tuple[int, int, int],
               ring: tuple[int, int, int]) -> None:
    cx, cy = centre
    r = size // 2
    cv2.circle(face, centre, r + 5, ring, -1, cv2.LINE_AA)
    if logo is Logo.CIRCLE:
        cv2.circle(face, centre, r, colour, -1, cv2.LINE_AA)
    elif logo is Logo.RING:
        cv2.circle(face, centre, r - 4, colour, 8, cv2.LINE_AA)
    elif logo is Logo.DIAMOND:
        pts = np.array([[cx, cy - r], [cx + r, cy], [cx, cy + r], [cx - r, cy]], np.int32)
        cv2.fillPoly(face, [pts], colour, cv2.LINE_AA)
    else:
        corners = {Logo.TRIANGLE: 3, Logo.HEXAGON: 6, Logo.STAR: 10}[logo]
        angles = -np.pi / 2 + np.arange(corners) * 2 * np.pi / corners
        radii = np.full(corners, float(r))
        if logo is Logo.STAR:
            radii[1::2] = r * 0.45
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1).astype(np.int32)
        cv2.fillPoly(face, [pts], colour, cv2.LINE_AA)


def _fit_text(text: str, max_width: int, max_scale: float, thickness: int) -> float:
    font = cv2.FONT_HERSHEY_DUPLEX
    scale = max_scale
    while scale > 0.3 and cv2.getTextSize(text, font, scale, thickness)[0][0] > max_width:
        scale -= 0.05
    return scale


def render_packaging(sku: Sku) -> Packaging:
    """The SKU's top face as the dock camera sees it flat, with its EAN-13 printed on it."""
    w = round(sku.length_mm * PX_PER_MM)
    h = round(sku.width_mm * PX_PER_MM)
    base, accent, text_colour = sku.base_bgr, sku.accent_bgr, sku.text_bgr
    face = np.empty((h, w, 3), np.uint8)
    face[:] = base
    header = max(int(h * 0.2), 34)
    _draw_pattern(face, sku.pattern, accent, header)
    # The header band carries the product name; its colour is the accent darkened so text reads.
    band = _shade(accent, 0.55) if _luma(accent) > 110 else accent
    cv2.rectangle(face, (0, 0), (w, header), band, -1)
    name_colour = text_colour if abs(_luma(text_colour) - _luma(band)) > 90 else _contrast(band)
    scale = _fit_text(sku.name, w - 24, 1.0, 2)
    cv2.putText(face, sku.name, (12, header - 11), cv2.FONT_HERSHEY_DUPLEX, scale, name_colour, 2,
                cv2.LINE_AA)

    # EAN-13 bottom right on a white patch (the quiet zone is part of the patch).
    ean = ean13_image(sku.gtin)
    bh, bw = ean.shape
    pad = 6
    bx1, by1 = w - 10, h - 10
    bx0, by0 = bx1 - bw - 2 * pad, by1 - bh - 2 * pad
    cv2.rectangle(face, (bx0, by0), (bx1, by1), (255, 255, 255), -1)
    face[by0 + pad : by0 + pad + bh, bx0 + pad : bx0 + pad + bw] = ean[:, :, None]
    barcode_rect: Rect = (bx0, by0, bx1, by1)

    # The GS1 DataMatrix goes bottom left beside the EAN-13, or above its left end when the EAN-13
    # is too wide; the logo shrinks to make room.
    logo_top = header + 12
    logo_bottom_limit = h - 30
    dm_rect: Rect | None = None
    if sku.serialised:
        side = DATAMATRIX_PX
        if 10 + side + 6 <= bx0:
            dm_rect = (10, h - 10 - side, 10 + side, h - 10)
        else:
            dm_rect = (10, by0 - 6 - side, 10 + side, by0 - 6)
            logo_bottom_limit = dm_rect[1] - 6
    logo_size = max(min(logo_bottom_limit - logo_top, w // 4, 90), 24)
    logo_centre = (12 + logo_size // 2 + 6, logo_top + logo_size // 2)
    _draw_logo(face, sku.logo, logo_centre, logo_size, text_colour if sku.form is Form.BOX else accent,
               _contrast(text_colour))
    if bx0 < 4:
        raise ValueError(f"{sku.sku}: {sku.length_mm} mm is too short for its EAN-13 "
                         f"({(bx1 - bx0 + 14) / PX_PER_MM:.0f} mm needed) — lengthen it in the catalog")

    label_zone: Rect = (int(w * 0.42), header // 2, w - 6, by0 - 4)

    # Finish: box edges catch the light on two sides; a pouch has crimped seals and a gloss band.
    alpha = np.full((h, w), 255, np.uint8)
    if sku.form is Form.BOX:
        cv2.rectangle(face, (0, 0), (w - 1, h - 1), _shade(base, 0.6), 2)
        cv2.line(face, (2, 2), (w - 3, 2), _shade(base, 1.35), 2)
        cv2.line(face, (2, 2), (2, h - 3), _shade(base, 1.35), 2)
    else:
        radius = 14
        alpha[:] = 0
        cv2.rectangle(alpha, (radius, 0), (w - 1 - radius, h - 1), 255, -1)
        cv2.rectangle(alpha, (0, radius), (w - 1, h - 1 - radius), 255, -1)
        for cx, cy in ((radius, radius), (w - 1 - radius, radius), (radius, h - 1 - radius),
                       (w - 1 - radius, h - 1 - radius)):
            cv2.circle(alpha, (cx, cy), radius, 255, -1, cv2.LINE_AA)
        seal = 10
        for x0 in (0, w - seal):
            strip = face[:, x0 : x0 + seal]
            strip[:] = _shade(base, 0.85)
            strip[::3] = _shade(base, 0.7)
        streak = np.zeros((h, w), np.uint8)
        cv2.line(streak, (w // 3, -10), (w // 3 - h // 2, h + 10), 70, 38, cv2.LINE_AA)
        gloss = cv2.GaussianBlur(streak, (0, 0), 9)
        cv2.add(face, cv2.merge([gloss, gloss, gloss]), dst=face)

    m = MARGIN_PX
    texture = np.zeros((h + 2 * m, w + 2 * m, 4), np.uint8)
    texture[m : m + h, m : m + w, :3] = face
    texture[m : m + h, m : m + w, 3] = alpha

    def shift(rect: Rect) -> Rect:
        return rect[0] + m, rect[1] + m, rect[2] + m, rect[3] + m

    return Packaging(
        sku=sku,
        texture=texture,
        item_rect=(m, m, m + w, m + h),
        barcode_rect=shift(barcode_rect),
        label_zone=shift(label_zone),
        datamatrix_rect=shift(dm_rect) if dm_rect else None,
    )


def render_reference(sku: Sku, long_side: int = 320) -> np.ndarray:
    """The catalog photo of a SKU: its packaging, unlabelled, on a light studio background (BGR)."""
    pack = render_packaging(sku)
    tex = pack.texture
    alpha = tex[:, :, 3:4].astype(np.float32) / 255.0
    studio = np.full((*tex.shape[:2], 3), 235, np.uint8)
    image = (tex[:, :, :3] * alpha + studio * (1.0 - alpha)).astype(np.uint8)
    h, w = image.shape[:2]
    factor = long_side / max(h, w)
    small: np.ndarray = cv2.resize(image, (round(w * factor), round(h * factor)),
                                   interpolation=cv2.INTER_AREA)
    return small


def render_label(rma: str, customer: tuple[str, str, str]) -> np.ndarray:
    """A printed return label: QR code of the RMA, the RMA in clear and the customer's address (BGR)."""
    lw, lh = LABEL_SIZE_PX
    label = np.full((lh, lw, 3), 250, np.uint8)
    # The label's white paper is the QR code's quiet zone; integer module size keeps modules even.
    qr = barcode_image(rma, zxingcpp.BarcodeFormat.QRCode, scale=QR_MODULE_PX, quiet_zone=False)
    side = qr.shape[0]
    if side > lh - 6:
        qr = cv2.resize(qr, (lh - 6, lh - 6), interpolation=cv2.INTER_AREA)
        side = lh - 6
    top = (lh - side) // 2
    label[top : top + side, 4 : 4 + side] = qr[:, :, None]
    font = cv2.FONT_HERSHEY_SIMPLEX
    x = side + 10
    cv2.putText(label, "RETURN", (x, 14), font, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(label, rma, (x, 30), font, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    for row, line in enumerate(customer):
        cv2.putText(label, line, (x, 50 + 14 * row), font, 0.3, (40, 40, 40), 1, cv2.LINE_AA)
    cv2.rectangle(label, (0, 0), (lw - 1, lh - 1), (190, 190, 190), 1)
    return label


def render_side(sku: Sku, along: str) -> Packaging:
    """One of the SKU's upright faces as a camera beside the belt sees it square on.

    `along` is "length" (the long side face, length x height) or "width" (an end face, width x
    height). The print is the top face's: base colour, pattern, the header band with the product
    name where the face is tall enough, the logo where there is room; no codes (they are printed
    on top). A pouch's side is its crimped edge. The texture has the top face's transparent
    margin (a lifted lid flap reaches into it); `barcode_rect` and `label_zone` are empty.
    """
    if along not in ("length", "width"):
        raise ValueError(f"along must be 'length' or 'width', got {along!r}")
    w = round((sku.length_mm if along == "length" else sku.width_mm) * PX_PER_MM)
    h = max(round(sku.height_mm * PX_PER_MM), 4)
    base, accent, text_colour = sku.base_bgr, sku.accent_bgr, sku.text_bgr
    face = np.empty((h, w, 3), np.uint8)
    face[:] = base
    alpha = np.full((h, w), 255, np.uint8)
    band = _shade(accent, 0.55) if _luma(accent) > 110 else accent
    if sku.form is Form.POUCH:
        # The edge of a flat pouch: the crimped seal along its whole length, a gloss line on top.
        face[:] = _shade(base, 0.85)
        face[::3] = _shade(base, 0.7)
        cv2.line(face, (0, 1), (w - 1, 1), _shade(base, 1.3), 1)
        radius = min(h // 2, 10)
        alpha[:] = 0
        cv2.rectangle(alpha, (radius, 0), (w - 1 - radius, h - 1), 255, -1)
        cv2.rectangle(alpha, (0, 0), (w - 1, h - 1 - radius), 255, -1)
    else:
        # The header band as high as on the top face of a box this size (not a fifth of a tall face).
        if h >= NAME_FACE_PX:
            header = max(int(min(h, round(sku.width_mm * PX_PER_MM)) * 0.2), 30)
        else:
            header = max(h // 5, 6)
        _draw_pattern(face, sku.pattern, accent, header)
        cv2.rectangle(face, (0, 0), (w, header), band, -1)
        if h >= NAME_FACE_PX:
            name_colour = text_colour if abs(_luma(text_colour) - _luma(band)) > 90 else _contrast(band)
            scale = _fit_text(sku.name, w - 24, 1.0, 2)
            cv2.putText(face, sku.name, (12, header - 8), cv2.FONT_HERSHEY_DUPLEX, scale, name_colour, 2,
                        cv2.LINE_AA)
            logo_size = min(h - header - 24, w // 4, 90)
            if logo_size >= 24:
                centre = (w - 18 - logo_size // 2, header + 12 + logo_size // 2)
                _draw_logo(face, sku.logo, centre, logo_size, text_colour, _contrast(text_colour))
        # Box edges: the top edge catches the lamp above the belt, the outline is the board's fold.
        cv2.rectangle(face, (0, 0), (w - 1, h - 1), _shade(base, 0.6), 2)
        cv2.line(face, (2, 2), (w - 3, 2), _shade(base, 1.35), 2)

    m = MARGIN_PX
    texture = np.zeros((h + 2 * m, w + 2 * m, 4), np.uint8)
    texture[m : m + h, m : m + w, :3] = face
    texture[m : m + h, m : m + w, 3] = alpha
    nowhere: Rect = (m, m, m, m)
    return Packaging(sku=sku, texture=texture, item_rect=(m, m, m + w, m + h), barcode_rect=nowhere,
                     label_zone=nowhere, datamatrix_rect=None)
