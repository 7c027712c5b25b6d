"""In-memory catalog and manifest lookups for the hot path.

The inspector asks several questions per item (which SKU has this GTIN, what does this
RMA expect); answering them from dictionaries keeps SQLite off the item path. The
station rebuilds the lookup whenever the catalog or the manifest changes (an import,
an MQTT manifest) and swaps it in whole — readers never see half an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from station.policy import RmaRecord
from station.verdict import DeclaredReason
from vision.barcode.gs1 import gtin14


@dataclass(frozen=True)
class SkuEntry:
    """What the inspector needs to know of one SKU."""

    sku: str
    gtins: tuple[str, ...]
    name: str = ""
    dimensions_mm: tuple[float, float, float] | None = None
    reference_image: str | None = None


@dataclass(frozen=True)
class CatalogLookup:
    """Catalog and manifest as dictionaries; build with `from_rows`."""

    skus: Mapping[str, SkuEntry] = field(default_factory=dict)
    by_gtin: Mapping[str, str] = field(default_factory=dict)
    rmas: Mapping[str, RmaRecord] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls, skus: Iterable[Mapping[str, Any]], rmas: Iterable[Mapping[str, Any]]
    ) -> CatalogLookup:
        """From catalog rows (sku, gtin or gtins, name, *_mm, reference_image) and manifest rows.

        GTINs are kept as `gtin14` gives them; a value that is no GTIN is left out, since no
        code read could ever match it.
        """
        entries: dict[str, SkuEntry] = {}
        by_gtin: dict[str, str] = {}
        for row in skus:
            raw = row.get("gtins") or [row.get("gtin")]
            gtins = tuple(filter(None, (gtin14(str(g)) for g in raw if g)))
            dims = None
            if all(row.get(k) for k in ("length_mm", "width_mm", "height_mm")):
                dims = (float(row["length_mm"]), float(row["width_mm"]), float(row["height_mm"]))
            entry = SkuEntry(
                sku=str(row["sku"]),
                gtins=gtins,
                name=str(row.get("name") or ""),
                dimensions_mm=dims,
                reference_image=str(row["reference_image"]) if row.get("reference_image") else None,
            )
            entries[entry.sku] = entry
            for g in gtins:
                by_gtin[g] = entry.sku
        records: dict[str, RmaRecord] = {}
        for row in rmas:
            reason = row.get("declared_reason")
            records[str(row["rma"])] = RmaRecord(
                rma=str(row["rma"]),
                expected_sku=str(row["sku"]) if row.get("sku") else row.get("expected_sku"),
                declared_reason=DeclaredReason(reason) if reason else None,
            )
        return cls(entries, by_gtin, records)

    def sku_for_gtin(self, gtin: str) -> str | None:
        """The SKU printed with this GTIN, or None when it is not in the catalog."""
        normalised = gtin14(gtin)
        return self.by_gtin.get(normalised) if normalised else None

    def rma_record(self, rma: str) -> RmaRecord | None:
        """The manifest's record of this RMA, or None when it is unknown."""
        return self.rmas.get(rma)

    def gtins_of(self, sku: str) -> tuple[str, ...]:
        """The GTINs of a SKU (empty when unknown)."""
        entry = self.skus.get(sku)
        return entry.gtins if entry else ()

    def reference_image(self, sku: str) -> str | None:
        """The catalog picture of a SKU, when there is one."""
        entry = self.skus.get(sku)
        return entry.reference_image if entry else None

    def dimensions_mm(self, sku: str) -> tuple[float, float, float] | None:
        """The SKU's length, width and height in mm, when known."""
        entry = self.skus.get(sku)
        return entry.dimensions_mm if entry else None
