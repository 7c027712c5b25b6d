"""Synthetic returns for the demo, the tests and the demo defect model (no torch here).

    catalog = Catalog.load()                     # the committed demo catalog
    gen = ReturnsGenerator(catalog, seed=0)
    item = gen.generate(17)                      # SyntheticItem, same pixels for (seed, 17) every time
    manifest = gen.manifest_for(100)             # RMAs -> expected SKU and declared reason
    views = gen.generate_views(17, ("top", "left", "right"))  # the cameras of one item, same moment
"""

from models.synthetic.artwork import PX_PER_MM, render_packaging, render_reference, render_side
from models.synthetic.catalog import (
    DEFAULT_CATALOG_PATH,
    Catalog,
    CatalogError,
    Form,
    Sku,
    gtin_check_digit,
    is_valid_gtin13,
)
from models.synthetic.damage import Damage
from models.synthetic.generator import (
    VIEWS,
    Case,
    DeclaredReason,
    ItemPlan,
    ManifestEntry,
    ReturnsGenerator,
    SyntheticItem,
)
from models.synthetic.scene import FRAME_SIZE

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "FRAME_SIZE",
    "PX_PER_MM",
    "VIEWS",
    "Case",
    "Catalog",
    "CatalogError",
    "Damage",
    "DeclaredReason",
    "Form",
    "ItemPlan",
    "ManifestEntry",
    "ReturnsGenerator",
    "Sku",
    "SyntheticItem",
    "gtin_check_digit",
    "is_valid_gtin13",
    "render_packaging",
    "render_reference",
    "render_side",
]
