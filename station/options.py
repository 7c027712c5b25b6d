"""How `station run` was asked to run: what the command line adds to the config."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunOptions"]


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
