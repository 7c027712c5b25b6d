"""The demo catalog: SKUs with GTINs, sizes and the look of their packaging.

The committed catalog is `models/demo/catalog.json`; its reference images sit beside it
(`images/<sku>.png`, rendered by `render_reference`). GTINs use the GS1 restricted
circulation prefix 20, so they can never collide with a real product.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
DEFAULT_CATALOG_PATH = DEMO_DIR / "catalog.json"


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file, the entry and the fix."""


class Form(StrEnum):
    """How the item is packed, which changes its outline and the seal it can have opened."""

    BOX = "box"
    POUCH = "pouch"


class Pattern(StrEnum):
    """The printed pattern on the packaging."""

    STRIPES = "stripes"
    DIAGONAL = "diagonal"
    DOTS = "dots"
    BAND = "band"
    CHECKER = "checker"
    WAVES = "waves"


class Logo(StrEnum):
    """The brand mark printed on the packaging."""

    CIRCLE = "circle"
    RING = "ring"
    TRIANGLE = "triangle"
    STAR = "star"
    HEXAGON = "hexagon"
    DIAMOND = "diamond"


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of a GTIN body (all digits but the last)."""
    if not body.isdigit():
        raise ValueError(f"GTIN body must be digits, got {body!r}")
    total = 0
    # Weights 3,1,3,... from the rightmost digit of the body.
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin13(gtin: str) -> bool:
    """True for 13 digits whose last digit is the GS1 check digit of the first twelve."""
    return len(gtin) == 13 and gtin.isdigit() and gtin_check_digit(gtin[:12]) == int(gtin[12])


def _bgr(hex_colour: str) -> tuple[int, int, int]:
    text = hex_colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour must be #RRGGBB, got {hex_colour!r}")
    red, green, blue = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return blue, green, red


@dataclass(frozen=True)
class Sku:
    """One product of the catalog and the look of its packaging (colours are #RRGGBB)."""

    sku: str
    name: str
    gtin: str
    category: str
    length_mm: float
    width_mm: float
    height_mm: float
    form: Form
    base_colour: str
    accent_colour: str
    text_colour: str
    pattern: Pattern
    logo: Logo
    # Items that carry a GS1 DataMatrix with serial number, expiry and lot.
    serialised: bool = False
    # Relative to the catalog file.
    reference_image: str = ""

    def __post_init__(self) -> None:
        if not is_valid_gtin13(self.gtin):
            raise ValueError(f"{self.sku}: GTIN {self.gtin!r} is not 13 digits with a valid check digit")
        if min(self.length_mm, self.width_mm, self.height_mm) <= 0:
            raise ValueError(f"{self.sku}: dimensions must be positive")
        if self.width_mm > self.length_mm:
            raise ValueError(f"{self.sku}: width_mm must not exceed length_mm (length is the long side)")
        for colour in (self.base_colour, self.accent_colour, self.text_colour):
            _bgr(colour)

    @property
    def base_bgr(self) -> tuple[int, int, int]:
        """Base colour in OpenCV channel order."""
        return _bgr(self.base_colour)

    @property
    def accent_bgr(self) -> tuple[int, int, int]:
        """Accent colour in OpenCV channel order."""
        return _bgr(self.accent_colour)

    @property
    def text_bgr(self) -> tuple[int, int, int]:
        """Text colour in OpenCV channel order."""
        return _bgr(self.text_colour)

    def to_json(self) -> dict[str, Any]:
        """The catalog file's entry for this SKU."""
        return {
            "sku": self.sku,
            "name": self.name,
            "gtin": self.gtin,
            "category": self.category,
            "length_mm": self.length_mm,
            "width_mm": self.width_mm,
            "height_mm": self.height_mm,
            "form": self.form.value,
            "base_colour": self.base_colour,
            "accent_colour": self.accent_colour,
            "text_colour": self.text_colour,
            "pattern": self.pattern.value,
            "logo": self.logo.value,
            "serialised": self.serialised,
            "reference_image": self.reference_image,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sku:
        """An entry of the catalog file; raises KeyError/ValueError on a bad entry."""
        return cls(
            sku=str(data["sku"]),
            name=str(data["name"]),
            gtin=str(data["gtin"]),
            category=str(data["category"]),
            length_mm=float(data["length_mm"]),
            width_mm=float(data["width_mm"]),
            height_mm=float(data["height_mm"]),
            form=Form(data["form"]),
            base_colour=str(data["base_colour"]),
            accent_colour=str(data["accent_colour"]),
            text_colour=str(data["text_colour"]),
            pattern=Pattern(data["pattern"]),
            logo=Logo(data["logo"]),
            serialised=bool(data.get("serialised", False)),
            reference_image=str(data.get("reference_image", "")),
        )


@dataclass(frozen=True)
class Catalog:
    """An ordered set of SKUs, loaded from a catalog JSON file."""

    skus: tuple[Sku, ...]
    path: Path | None = None

    def __post_init__(self) -> None:
        if not self.skus:
            raise CatalogError(f"{self.path or 'catalog'}: no SKUs — add at least two entries")
        seen: set[str] = set()
        for entry in self.skus:
            if entry.sku in seen:
                raise CatalogError(f"{self.path or 'catalog'}: SKU {entry.sku} appears twice — keep one")
            seen.add(entry.sku)

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Read a catalog file (default: the committed demo catalog `models/demo/catalog.json`)."""
        path = DEFAULT_CATALOG_PATH if path is None else Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CatalogError(f"{path}: catalog file not found — pass an existing catalog.json") from None
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}) — fix the file") from None
        entries = data.get("skus") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise CatalogError(f"{path}: expected an object with a list under \"skus\"")
        skus = []
        for index, entry in enumerate(entries):
            try:
                skus.append(Sku.from_json(entry))
            except (KeyError, ValueError, TypeError) as exc:
                name = entry.get("sku", "?") if isinstance(entry, dict) else "?"
                raise CatalogError(f"{path}: entry {index} ({name}): {exc} — fix it") from None
        logger.debug("loaded %s SKUs from %s", len(skus), path)
        return cls(tuple(skus), path)

    def save(self, path: Path) -> None:
        """Write the catalog as JSON (the format `load` reads)."""
        payload = {"schema": "returns.catalog/1", "skus": [s.to_json() for s in self.skus]}
        Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    def __iter__(self) -> Iterator[Sku]:
        return iter(self.skus)

    def __len__(self) -> int:
        return len(self.skus)

    def get(self, sku: str) -> Sku:
        """The SKU with this code; KeyError names the known codes."""
        for entry in self.skus:
            if entry.sku == sku:
                return entry
        raise KeyError(f"unknown SKU {sku!r}; the catalog has {[s.sku for s in self.skus]}")

    def by_gtin(self, gtin: str) -> Sku | None:
        """The SKU printed with this GTIN-13, or None."""
        for entry in self.skus:
            if entry.gtin == gtin:
                return entry
        return None

    def reference_path(self, sku: Sku) -> Path | None:
        """Absolute path of the SKU's reference image, or None when the catalog has none."""
        if not sku.reference_image:
            return None
        base = self.path.parent if self.path is not None else DEMO_DIR
        return (base / sku.reference_image).resolve()
