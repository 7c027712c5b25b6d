"""How `station run` was asked to run: what the command line adds to the config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from station.config import Config

__all__ = ["DEMO_VIEWS", "RunOptions", "with_demo_cameras"]


@dataclass(frozen=True)
class RunOptions:
    """Options of one run; None leaves the config's value."""

    items: int | None = None  # stop after this many recorded items
    # Simulated belt; None = [hardware].sim_* from the config.
    sim_speed_m_s: float | None = None
    sim_spacing_m: float | None = None
    sim_rate_items_s: float | None = None
    demo_seed: int = 7
    # No window: a keyboard-wedge scanner is read from stdin (the window reads its own keys).
    headless: bool = True


# The faces the demo line's synthetic cameras see, in the order `station run --cameras N` adds them.
DEMO_VIEWS = ("top", "left", "right", "front", "back")


def with_demo_cameras(config: Config, count: int) -> Config:
    """The config with the demo line seen by `count` synthetic cameras: [camera] as "top", then the
    sides. The side cameras look for damage only: the return label and the product codes are on top."""
    if config.camera.source != "synthetic":
        raise ValueError(f"--cameras adds synthetic cameras to the demo line, but [camera] source is "
                         f"{config.camera.source!r}: describe real cameras as [cameras.NAME] tables instead")
    if not 1 <= count <= len(DEMO_VIEWS):
        raise ValueError(f"--cameras {count}: the demo line has 1 to {len(DEMO_VIEWS)} cameras")
    first = dataclasses.replace(config.camera, name=DEMO_VIEWS[0])
    sides = {view: dataclasses.replace(first, name=view, checks=("defect",), calibration=None)
             for view in DEMO_VIEWS[1:count]}
    return dataclasses.replace(config, camera=first, cameras=sides)
