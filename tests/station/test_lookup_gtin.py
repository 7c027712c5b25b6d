"""The in-memory catalog lookup keys SKUs by the GTIN-14 the one GTIN rule gives, so a code
read finds its SKU whichever way the catalog file wrote the GTIN."""

from __future__ import annotations

from station.lookup import CatalogLookup

ROWS = [
    {"sku": "SKU-PEN", "gtins": ["4006381333931", "4006381333932", "R-1"]},  # 2nd: bad check digit
    {"sku": "SKU-SODA", "gtin": "042100005264"},  # the UPC-A of UPC-E 04252614
    {"sku": "SKU-GUM", "gtin": "96385074"},
]


def test_catalog_gtins_are_kept_as_gtin14_and_what_is_no_gtin_is_left_out() -> None:
    lookup = CatalogLookup.from_rows(ROWS, [])
    assert lookup.gtins_of("SKU-PEN") == ("04006381333931",)
    assert lookup.gtins_of("SKU-SODA") == ("00042100005264",)
    assert lookup.gtins_of("SKU-GUM") == ("00000096385074",)


def test_a_gtin_finds_its_sku_in_any_spelling_and_a_non_gtin_finds_none() -> None:
    lookup = CatalogLookup.from_rows(ROWS, [])
    spellings = ("04006381333931", "4006381333931", " 4006381333931")
    assert [lookup.sku_for_gtin(g) for g in spellings] == ["SKU-PEN"] * 3
    assert lookup.sku_for_gtin("00042100005264") == "SKU-SODA"
    assert lookup.sku_for_gtin("96385074") == "SKU-GUM"
    assert [lookup.sku_for_gtin(g) for g in ("4006381333932", "R-1", "")] == [None, None, None]
