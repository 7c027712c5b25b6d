"""`BarcodeReader`: zxing-cpp and zbar fused, fast on clear frames, harder only when needed.

Fast path ("cascade", the default): zxing-cpp on the frame as it is; zbar on the whole
frame only when zxing found nothing certain. A zxing read of a weakly protected linear
symbol (EAN/UPC, ITF, Code 39) is re-read by zbar on a crop around it, and a zbar-only
read by zxing, so that a one-decoder misread meets a contradiction. Measured against
"both" (both engines on every frame): more reads, as few misreads, half the time.

An EAN-13 / UPC-A that zbar alone reads needs a second look to count: zbar finds it again,
at the same place, on the rendering scaled to 0.7 or shifted by half a pixel (other pixels
under every scan line), or zxing reads it too. One mod-10 check digit passes one random
digit string in ten, so a damaged symbol zbar decodes wrong is otherwise reported as a
valid code; unconfirmed, the read is uncertain (which the policy treats as no read).
EAN-8 and UPC-E need zxing.

Slow path, only when the fast path found nothing certain: the frame re-rendered (crops
around bar-like texture enlarged, halved, other binariser, inverted, contrast-equalised,
doubled, rotated 45°, sharpened, smoothed) and both engines run again, cheapest first,
until a certain code turns up or the budget is spent. Two kinds of budget:
- work (`slow_path_budget_ms=None`): pixels decoded, summed over variants and engines, at
  most `slow_path_frames` times the frame's own pixels (per engine) and at most
  `slow_path_megapixels`; a variant that does not fit is skipped. Deterministic: the
  same file gives the same codes in every run and on every machine. For everything
  outside the live pipeline (`station scan`, `station inspect` on files, benchmarks).
- time (`slow_path_budget_ms`, the live pipeline): wall-clock milliseconds, so a frame
  never holds up the belt; variants the budget cannot pay for (predicted from the fast
  path's cost on this frame) are skipped. What is read then depends on machine load.
Every read is checked (`interpret.judge`) and fused by place (`interpret.fuse`); code
types that are off are never asked for, so never reported.

Sweep (`read(sweep=True)`), for a frame with no item in it: one cheaper look with both
engines and no slow path (see `BarcodeReader.read`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vision.barcode.code import BarcodeRead, Code, Quad
from vision.barcode.engines import ENGINES, RawRead, ZbarEngine, ZxingEngine
from vision.barcode.formats import BARCODE_FORMATS, EAN_UPC, check_formats
from vision.barcode.interpret import fuse, judge, same_place

__all__ = ["FAST_PATHS", "FILE_WORK_FRAMES", "FILE_WORK_MEGAPIXELS", "SLOW_VARIANTS", "BarcodeReader"]

logger = logging.getLogger(__name__)

FAST_PATHS = ("both", "cascade")

Affine = np.ndarray  # 2x3 float matrix mapping variant pixels back to frame pixels


@dataclass(frozen=True)
class _Variant:
    """A re-rendering of the frame for the slow path, and which engines to run on it."""

    name: str
    make: Callable[[np.ndarray], list[tuple[np.ndarray, Affine]]]
    zxing: bool = True
    zbar: bool = True
    zxing_global: bool = False


def _identity() -> Affine:
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _same(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    return gray, _identity()


def _scaled(factor: float, max_pixels: int) -> Callable[[np.ndarray], tuple[np.ndarray, Affine] | None]:
    def make(gray: np.ndarray) -> tuple[np.ndarray, Affine] | None:
        h, w = gray.shape[:2]
        if factor > 1 and h * w * factor * factor > max_pixels:
            return None  # too big to pay for; small codes on big frames are what tiles are for
        if factor < 1 and min(h, w) * factor < 64:
            return None
        interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
        out = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interp)
        return out, np.array([[1.0 / factor, 0.0, 0.0], [0.0, 1.0 / factor, 0.0]])

    return make


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))


def _clahe(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    return _CLAHE.apply(gray), _identity()


def _inverted(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    return cv2.bitwise_not(gray), _identity()


def _sharpened(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    blur = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 2.0, blur, -1.0, 0), _identity()


def _smoothed(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    return cv2.GaussianBlur(gray, (0, 0), 1.2), _identity()


def _rotated(degrees: float) -> Callable[[np.ndarray], tuple[np.ndarray, Affine]]:
    def make(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
        h, w = gray.shape[:2]
        forward = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        cos, sin = abs(forward[0, 0]), abs(forward[0, 1])
        nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
        forward[0, 2] += nw / 2 - w / 2
        forward[1, 2] += nh / 2 - h / 2
        # White border: codes are dark on light, a black border would read as a quiet-zone breach.
        out = cv2.warpAffine(gray, forward, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)
        return out, cv2.invertAffineTransform(forward)

    return make


def _one(
    fn: Callable[[np.ndarray], tuple[np.ndarray, Affine] | None],
) -> Callable[[np.ndarray], list[tuple[np.ndarray, Affine]]]:
    def make(gray: np.ndarray) -> list[tuple[np.ndarray, Affine]]:
        made = fn(gray)
        return [] if made is None else [made]

    return make


def candidate_regions(gray: np.ndarray, max_regions: int = 4) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around the busiest bar-like texture in the frame, largest first.

    Strong, dense edges are what barcodes are made of; a closed, thresholded gradient map
    at quarter resolution finds them in about a millisecond.
    """
    h, w = gray.shape[:2]
    step = 4 if min(h, w) >= 400 else 2 if min(h, w) >= 100 else 1
    small = cv2.resize(gray, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    energy = cv2.blur(np.abs(gx) + np.abs(gy), (5, 5))
    peak = float(energy.max())
    if peak <= 0:
        return []
    busy = (energy > max(0.3 * peak, float(np.percentile(energy, 90)))).astype(np.uint8)
    mask = cv2.morphologyEx(busy, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[tuple[int, int, int, int]] = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:max_regions]:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bw * bh < 12:
            continue
        pad_x, pad_y = bw // 3 + 2, bh // 3 + 2
        boxes.append((max(0, (x - pad_x) * step), max(0, (y - pad_y) * step),
                      min(w, (x + bw + pad_x) * step), min(h, (y + bh + pad_y) * step)))
    return boxes


def _regions_upscaled(gray: np.ndarray) -> list[tuple[np.ndarray, Affine]]:
    """Crops around candidate regions, enlarged so that small codes get two pixels per module."""
    h, w = gray.shape[:2]
    out: list[tuple[np.ndarray, Affine]] = []
    for x0, y0, x1, y1 in candidate_regions(gray):
        if (x1 - x0) * (y1 - y0) > 0.6 * h * w:
            continue  # the whole frame: the upscale variant covers that
        crop = gray[y0:y1, x0:x1]
        factor = 3.0 if max(crop.shape) <= 400 else 2.0
        big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        out.append((big, np.array([[1.0 / factor, 0.0, float(x0)], [0.0, 1.0 / factor, float(y0)]])))
    return out


SLOW_VARIANTS: tuple[_Variant, ...] = (
    # Cheapest first: the budget (about two full-frame passes on a 720p frame) runs out fast.
    _Variant("regions-upscaled", _regions_upscaled),
    _Variant("downscale-0.5x", _one(_scaled(0.5, 0))),
    # Uneven light and faded print are what the slow path meets most: on the zxing-cpp sample
    # suite contrast equalisation finds more than all other variants together, every time
    # through zxing (zbar then confirms on a crop), so zbar's whole-image pass is not paid for.
    _Variant("clahe", _one(_clahe), zbar=False),
    # zxing-cpp's own inversion retry covers 2-D symbols only; linear ones need this. zxing
    # alone: zbar is asked (on a crop) only to confirm what zxing finds.
    _Variant("inverted", _one(_inverted), zbar=False),
    _Variant("global-binarizer", _one(_same), zbar=False, zxing_global=True),
    _Variant("upscale-2x", _one(_scaled(2.0, 4_000_000))),
    _Variant("rotate+45", _one(_rotated(45.0))),
    _Variant("rotate-45", _one(_rotated(-45.0))),
    _Variant("sharpen", _one(_sharpened)),
    _Variant("smooth", _one(_smoothed)),
)


# Linear symbols whose only protection is one mod-10 digit or none: a zxing read of one is
# cross-checked by zbar on a crop around it (cheap: a crop is small), so a misread that
# passes the check digit is still caught when the other decoder reads something else.
_CROSS_CHECK = EAN_UPC | {"ITF", "Code39"}

# zbar is known to read half of an EAN-13/UPC-A as an EAN-8 or UPC-E, and to read short
# fragments of other linear symbols as ITF or Code 39 (neither has a mandatory check digit);
# a zbar read of those is believed only when zxing reads the same at the same place.
_ZBAR_NEEDS_ZXING = frozenset({"EAN8", "UPCE", "ITF", "Code39"})

# zbar-only reads of these are believed after a second look agrees (see module doc).
_ZBAR_NEEDS_SECOND_LOOK = frozenset({"EAN13", "UPCA"})

# The second looks, tried in turn until one agrees: the rendering scaled down to 0.7
# (area-averaged), then shifted by half a pixel both ways (bilinear). Scaling up or turning
# a few degrees keeps the damage where it was and the misread with it; these two change
# what every scan line sees, and a right read of a sound symbol survives them.
_SECOND_LOOK_SCALE = 0.7
_SECOND_LOOKS = 2

# Slow-path work budget for files: frames decoded per engine, and megapixels decoded over all
# engines (a 720p frame through both is 1.8). The frame part keeps the slow path in
# proportion to the fast path (p95 within 3x of zxing-cpp alone); the megapixel part keeps
# a 12-megapixel photo from getting what a 720p frame gets ten times over.
FILE_WORK_FRAMES = 1.5
FILE_WORK_MEGAPIXELS = 4.0


def _agrees(code: Code, others: Sequence[Code]) -> bool:
    """True when a certain read among `others` gives the same code at the same place."""
    return any(not o.problem and o.identity == code.identity and same_place(o, code) for o in others)


def _crop_box(quad: Quad, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    # Linear symbols come back as thin outlines: grow the short side so the crop holds whole bars.
    side = max(w, h)
    mx = int(0.2 * w + 0.3 * max(0, side - w) + 12)
    my = int(0.2 * h + 0.3 * max(0, side - h) + 12)
    x0, y0 = max(0, min(xs) - mx), max(0, min(ys) - my)
    x1, y1 = min(shape[1], max(xs) + mx), min(shape[0], max(ys) + my)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image if image.dtype == np.uint8 else cv2.convertScaleAbs(image)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a grey, BGR or BGRA image, got an array of shape {image.shape}")


class BarcodeReader:
    """Reads every enabled code type in a frame with zxing-cpp and zbar fused (see module doc).

    Holds no frame between calls, but is not for sharing between threads: one per thread.
    `fast_path` and `variants` exist for benchmarks; the station uses the defaults.

    `slow_path_budget_ms` is the live pipeline's wall-clock budget for the slow path; None
    budgets work instead (`slow_path_frames`, `slow_path_megapixels`: pixels decoded), which makes
    every read of a file deterministic: use that for files (scan, inspect, benchmarks).
    """

    def __init__(
        self,
        formats: Sequence[str] = BARCODE_FORMATS,
        engines: Sequence[str] = ENGINES,
        try_harder: bool = True,
        slow_path_budget_ms: float | None = 60.0,
        fast_path: str = "cascade",
        variants: Sequence[str] | None = None,
        slow_path_frames: float = FILE_WORK_FRAMES,
        slow_path_megapixels: float = FILE_WORK_MEGAPIXELS,
    ) -> None:
        self.formats = check_formats(list(formats))
        unknown = [e for e in engines if e not in ENGINES]
        if unknown or not engines:
            raise ValueError(
                f"unknown or no barcode engines {list(engines)}; use some of {', '.join(ENGINES)}"
            )
        if fast_path not in FAST_PATHS:
            raise ValueError(f"fast_path must be one of {FAST_PATHS}, not {fast_path!r}")
        self.engines = tuple(engines)
        self.try_harder = try_harder
        budgets = (slow_path_frames, slow_path_megapixels, slow_path_budget_ms or 0.0)
        if min(budgets) < 0:
            raise ValueError("slow-path budgets must be 0 or more")
        self.slow_path_budget_ms = slow_path_budget_ms
        self.slow_path_frames = slow_path_frames
        self.slow_path_megapixels = slow_path_megapixels
        self.fast_path = fast_path
        self._zxing = ZxingEngine(self.formats) if "zxing" in self.engines else None
        self._zbar = ZbarEngine(self.formats) if "zbar" in self.engines else None
        # Re-reading a symbol zxing already located needs only every other scan line (half the
        # cost); every third line missed misreads that every other line still contradicts.
        self._zbar_check = ZbarEngine(self.formats, density=2) if "zbar" in self.engines else None
        if self._zbar is not None and not self._zbar.active:
            self._zbar = None
        if self._zxing is not None and not self._zxing.active:
            self._zxing = None
        names = set(variants) if variants is not None else None
        self._variants = tuple(v for v in SLOW_VARIANTS if names is None or v.name in names)
        self._fuse_rules = {
            "zbar_needs_zxing": _ZBAR_NEEDS_ZXING if self._zxing is not None else frozenset(),
        }
        self.last_variant: str = ""  # which slow-path variant found the codes (for benchmarks, logs)

    def read(self, image: np.ndarray, roi: tuple[int, int, int, int] | None = None, *,
             sweep: bool = False) -> BarcodeRead:
        """Read the codes in `image` (grey, BGR or BGRA), within `roi` = (x, y, w, h) if given.

        `sweep=True` is the quick look for a frame in which nothing item-like was found (an
        empty belt): zxing without its rotated passes, zbar on every other line and always
        (its row and column scans are what find a linear code turned 90°), and no slow path.
        About a third of a full read of a 1280x720 frame with no code in it (35 against
        110 ms), still enough for a label lying flat in view.
        """
        start = time.perf_counter()
        gray = _to_gray(image)
        ox = oy = 0
        if roi is not None and roi[2] > 0 and roi[3] > 0:
            x, y, w, h = roi
            ox, oy = max(0, x), max(0, y)
            gray = gray[oy : y + h, ox : x + w]
            if gray.size == 0:
                raise ValueError(
                    f"region of interest {roi} lies outside the {image.shape[1]}x{image.shape[0]} frame"
                )
        offset = np.array([[0.0, 0.0, float(ox)], [0.0, 0.0, float(oy)]])
        self.last_variant = ""

        codes = self._pass(gray, _identity() + offset, cascade=False, quick=True) if sweep \
            else self._fast(gray, offset)
        certain, uncertain = fuse(codes, **self._fuse_rules)
        path = "sweep" if sweep else "fast"
        if not certain and self.try_harder and not sweep:
            path = "slow"
            slow_start = time.perf_counter()
            # What the fast path cost on this frame predicts what a variant will cost: skip
            # variants that would overrun the budget instead of finding out afterwards.
            per_pixel_ms = (slow_start - start) * 1000.0 / max(1, gray.size)
            budget_ms = self.slow_path_budget_ms
            work_done = 0.0  # megapixels decoded, for the work budget
            work_budget = min(self.slow_path_megapixels,
                              self.slow_path_frames * gray.size * len(self.engines) / 1e6)
            for variant in self._variants:
                spent = (time.perf_counter() - slow_start) * 1000.0
                if budget_ms is not None and spent >= budget_ms:
                    break
                if budget_ms is None and work_done >= work_budget:
                    break
                renderings = variant.make(gray)
                if not renderings:
                    continue
                engines_run = int(variant.zxing and self._zxing is not None) + int(
                    variant.zbar and self._zbar is not None)
                pixels = sum(img.size for img, _ in renderings)
                if budget_ms is None:
                    work = pixels * engines_run / 1e6
                    if work_done + work > work_budget:
                        logger.debug("skipping %s: %.2f megapixels, %.2f of %.2f left", variant.name,
                                     work, work_budget - work_done, work_budget)
                        continue
                    work_done += work
                else:
                    predicted = per_pixel_ms * pixels * engines_run / max(1, len(self.engines))
                    if spent + predicted > budget_ms:
                        logger.debug("skipping %s: about %.1f ms, %.1f of %.0f ms left", variant.name,
                                     predicted, budget_ms - spent, budget_ms)
                        continue
                for img, back in renderings:
                    codes.extend(self._run(variant, img, back + offset))
                certain, uncertain = fuse(codes, **self._fuse_rules)
                if certain:
                    self.last_variant = variant.name
                    break
        ms = (time.perf_counter() - start) * 1000.0
        return BarcodeRead(tuple(certain), tuple(uncertain), ms, path)

    def _fast(self, gray: np.ndarray, offset: Affine) -> list[Code]:
        return self._pass(gray, _identity() + offset, cascade=self.fast_path == "cascade")

    def _run(self, variant: _Variant, img: np.ndarray, back: Affine) -> list[Code]:
        return self._pass(img, back, zxing=variant.zxing, zbar=variant.zbar,
                          zxing_global=variant.zxing_global, cascade=True)

    def _pass(self, img: np.ndarray, back: Affine, *, zxing: bool = True, zbar: bool = True,
              zxing_global: bool = False, cascade: bool, quick: bool = False) -> list[Code]:
        """One look at one rendering of the frame: decode, then cross-check the weakly protected reads.

        `quick`: zxing without rotated passes and zbar on every other line (see `read(sweep=True)`).
        """
        codes: list[Code] = []
        zx_certain: list[tuple[RawRead, Code]] = []
        if zxing and self._zxing is not None:
            for raw in self._zxing.decode(img, global_binarizer=zxing_global, try_rotate=not quick):
                code = self._judge(raw, back)
                if code is not None:
                    codes.append(code)
                    if not code.problem:
                        zx_certain.append((raw, code))
        if self._zbar is None:
            return codes
        if zbar and (not cascade or not zx_certain):
            scanner = self._zbar_check if quick and self._zbar_check is not None else self._zbar
            second_looks: list[list[Code]] = []  # zbar on the re-renderings, made when first needed
            for raw in scanner.decode(img):
                code = self._judge(raw, back)
                if code is None:
                    continue
                checks: list[Code] = []
                if not code.problem and code.format in _CROSS_CHECK and self._zxing is not None:
                    checks = self._on_crop(self._zxing.decode, img, raw, back, upscale=True)
                if not code.problem and code.format in _ZBAR_NEEDS_SECOND_LOOK and not _agrees(code, checks):
                    agreed = False
                    for n in range(_SECOND_LOOKS):
                        if len(second_looks) <= n:
                            second_looks.append(self._second_look(n, scanner, img, back))
                        if _agrees(code, second_looks[n]):
                            agreed = True
                            break
                    if not agreed:
                        code = replace(code, problem=(
                            f"only zbar read this {code.format}, and only once: one check digit passes "
                            "one damaged read in ten, so it needs a second look or zxing to agree"))
                codes.append(code)
                codes.extend(checks)
        else:
            for raw, code in zx_certain:
                if code.format in _CROSS_CHECK:
                    checker = self._zbar_check or self._zbar
                    codes.extend(self._on_crop(checker.decode, img, raw, back, upscale=False))
        return codes

    def _second_look(self, n: int, scanner: ZbarEngine, img: np.ndarray, back: Affine) -> list[Code]:
        """zbar's certain reads of second-look rendering `n` of `img`, in frame pixels."""
        h, w = img.shape[:2]
        if n == 0:
            f = _SECOND_LOOK_SCALE
            if min(h, w) * f < 16:
                return []
            other = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            to_img = np.array([[1.0 / f, 0.0, 0.0], [0.0, 1.0 / f, 0.0], [0.0, 0.0, 1.0]])
        else:
            shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
            other = cv2.warpAffine(img, shift, (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
            to_img = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
        out: list[Code] = []
        for raw in scanner.decode(other):
            code = self._judge(raw, back @ to_img)
            if code is not None and not code.problem:
                out.append(code)
        return out

    def _on_crop(self, decode: Callable[[np.ndarray], list[RawRead]], img: np.ndarray, raw: RawRead,
                 back: Affine, *, upscale: bool) -> list[Code]:
        """Run one engine on a crop of `img` around `raw` to confirm or contradict it."""
        local: Quad = tuple((int(x), int(y)) for x, y in raw.quad)  # type: ignore[assignment]
        box = _crop_box(local, img.shape)
        if box is None:
            return []
        x0, y0, x1, y1 = box
        crop = img[y0:y1, x0:x1]
        factor = 2.0 if upscale and max(crop.shape) < 800 else 1.0
        if factor != 1.0:
            crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        # crop pixel -> img pixel -> frame pixel
        to_img = np.array([[1.0 / factor, 0.0, float(x0)], [0.0, 1.0 / factor, float(y0)], [0.0, 0.0, 1.0]])
        to_frame = back @ to_img
        out: list[Code] = []
        for r in decode(crop):
            code = self._judge(r, to_frame)
            if code is not None:
                out.append(code)
        return out

    def _judge(self, raw: RawRead, back: Affine) -> Code | None:
        if raw.format not in self.formats:
            return None  # e.g. an EAN-13 found while only UPC-A is on
        pts = np.array(raw.quad, dtype=np.float64)
        mapped = pts @ back[:, :2].T + back[:, 2]
        quad: Quad = tuple((round(float(x)), round(float(y))) for x, y in mapped)  # type: ignore[assignment]
        return judge(raw, quad)
