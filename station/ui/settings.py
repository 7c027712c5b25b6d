"""What the desktop app needs to know, as plain values (no Qt, so `station run` can build it
before deciding whether a window can be opened at all)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from station.config import Config, UiConfig, key_range
from station.verdict import Disposition

logger = logging.getLogger(__name__)

# Number keys 1..5 pick these, in this order (printed on the card's key hints).
DISPOSITIONS: tuple[str, ...] = tuple(d.value for d in Disposition)

DEFAULT_OVERRIDE_REASONS: tuple[str, ...] = UiConfig().override_reasons

# Policy thresholds the settings page may edit, with the words shown beside them.
_THRESHOLD_LABELS: dict[str, str] = {
    "defect_repair": "Defect score for repair",
    "defect_recycle": "Defect score for recycle",
    "conformity_min_similarity": "Minimum similarity to the expected product",
    "min_confidence": "Minimum confidence (else manual review)",
}


@dataclass(frozen=True)
class ThresholdRange:
    """One editable policy threshold: its config key, label, allowed range and current value."""

    key: str
    label: str
    low: float
    high: float
    value: float
    step: float = 0.01

    def __post_init__(self) -> None:
        if not self.low <= self.value <= self.high:
            raise ValueError(f"threshold {self.key}={self.value} is outside {self.low}..{self.high}")


@dataclass(frozen=True)
class UiSettings:
    """Everything the window needs that is not live state."""

    fullscreen: bool = False
    beep: bool = True  # the bell on a quarantined item or a part turning red
    font_scale: float = 1.0
    recent_items: int = 200
    supervisor_required_for: tuple[str, ...] = ("restock",)
    supervisor_pin: str = ""
    dispositions: tuple[str, ...] = DISPOSITIONS
    override_reasons: tuple[str, ...] = DEFAULT_OVERRIDE_REASONS
    thresholds: tuple[ThresholdRange, ...] = ()
    mode: str = "conveyor"
    station_id: str = ""
    # Stored images of past items (verdict inspection.images[].path is relative to it).
    images_dir: Path | None = None
    kpi_refresh_s: float = 10.0
    screenshot_timeout_s: float = 60.0
    window_size: tuple[int, int] = (1366, 768)
    lane_names: dict[int, str] = field(default_factory=dict)
    cameras: tuple[str, ...] = ()  # the cameras' names, the first ([camera]) first: the chips' order
    # [barcode] scanner_port = "keyboard": the hand scanner types into the window (station/ui/wedge.py).
    keyboard_scanner: bool = False
    # Keys closer together than this are a scanner typing (2-15 ms), farther apart a person (80+ ms).
    wedge_gap_ms: float = 50.0
    # The operator's language ("en" or "fr"): the window installs its catalogue before building.
    language: str = "en"

    def __post_init__(self) -> None:
        if not 0.5 <= self.font_scale <= 3.0:
            raise ValueError(f"font_scale {self.font_scale} is outside 0.5..3.0")
        if len(self.dispositions) > 9:
            raise ValueError("at most 9 dispositions fit on the number keys")
        if not 20.0 <= self.wedge_gap_ms <= 75.0:
            raise ValueError(
                f"wedge_gap_ms {self.wedge_gap_ms} is outside 20..75: scanners type 2-15 ms apart, "
                "people 80 ms or more"
            )


def ui_settings_from_config(config: Config) -> UiSettings:
    """The window's settings from the station's config (the [ui] section plus what it shows of others)."""
    thresholds = []
    for key, label in _THRESHOLD_LABELS.items():
        low, high = key_range("policy", key) or (0.0, 1.0)
        thresholds.append(
            ThresholdRange(key, label, float(low), float(high), float(getattr(config.policy, key)))
        )
    lanes = {int(number): name for name, number in config.hardware.lanes.items()}
    return UiSettings(
        fullscreen=config.ui.fullscreen,
        beep=config.ui.beep,
        font_scale=config.ui.font_scale,
        recent_items=config.ui.recent_items,
        supervisor_required_for=tuple(config.ui.supervisor_required_for),
        supervisor_pin=config.ui.supervisor_pin,
        override_reasons=tuple(config.ui.override_reasons),
        thresholds=tuple(thresholds),
        mode=config.station.mode,
        station_id=config.station.id,
        images_dir=config.in_data_dir(config.storage.images_dir),
        kpi_refresh_s=config.ui.kpi_refresh_s,
        lane_names=lanes,
        cameras=tuple(config.all_cameras),
        keyboard_scanner=config.barcode.scanner_port == "keyboard",
        language=config.ui.language,
    )


# What `run_app` returns when the operator chose "Restart now" after switching bench/conveyor mode:
# `station run` then stops the station and starts it again on the saved settings (75: EX_TEMPFAIL).
EXIT_RESTART = 75


def display_available() -> bool:
    """Whether a window can be shown (Linux needs an X11/Wayland display or an explicit Qt platform)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # Windows and macOS always have a desktop session when a user runs the station
