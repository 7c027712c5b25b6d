"""Fixtures of the station core tests: a real store on a temp folder and a verdict factory."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from station.store import Store
from station.verdict import (
    CodeRead,
    ConformityFinding,
    Decision,
    DeclaredReason,
    DefectFinding,
    Disposition,
    Grade,
    Inspection,
    ItemInfo,
    ModelRef,
    Routing,
    Verdict,
    new_verdict_id,
)
from vision.camera import Camera, Frame

SESSION = str(uuid.uuid4())


def build_verdict(seq: int = 1, *, rma: str | None = "R-1042", gtin: str = "4006381333931",
                  disposition: Disposition = Disposition.RESTOCK, score: float = 0.05, label: str = "ok",
                  confidence: float = 0.9, created: datetime | None = None, late: bool = False,
                  lost: bool = False, total_ms: float = 15.0, codes: tuple[CodeRead, ...] | None = None,
                  **extra: Any) -> Verdict:
    """A plausible first-revision verdict; keyword arguments vary what tests need."""
    at = created or datetime.now(UTC)
    return Verdict(
        verdict_id=new_verdict_id(),
        revision=1,
        station_id="dock-01",
        site_id="site-01",
        session=SESSION,
        seq=seq,
        item=ItemInfo(
            controller_item_id=seq,
            rma=rma,
            codes=codes if codes is not None else (
                CodeRead("EAN13", gtin), *((CodeRead("Code128", rma),) if rma else ())),
            expected_sku="SKU-A",
            observed_sku="SKU-A",
            declared_reason=DeclaredReason.NO_LONGER_NEEDED,
        ),
        inspection=Inspection(
            defect=DefectFinding(score, label,
                                 {"ok": 1 - score, label: score} if label != "ok" else {"ok": 1.0}),
            conformity=ConformityFinding(0.9, "SKU-A", 0.9),
        ),
        decision=Decision(Grade.A, disposition, ("no defect found (score 0.05)",), (), confidence),
        routing=Routing(1, None if lost else 1, late, lost),
        models=(ModelRef("defect", "2026.11.24", "a" * 64),),
        timings_ms={"capture": 1.0, "total": total_ms},
        created_at=at,
        decided_at=at,
        **extra,
    )


@pytest.fixture
def make_verdict() -> Callable[..., Verdict]:
    """The verdict factory (see build_verdict)."""
    return build_verdict


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real store: SQLite file and image folder under tmp_path."""
    s = Store(tmp_path / "station.db", tmp_path / "images", 90)
    yield s
    s.close()


@pytest.fixture
def frame() -> np.ndarray:
    """A 320×240 BGR test image with structure (so JPEG sizes are realistic)."""
    rng = np.random.default_rng(7)
    image = np.full((240, 320, 3), 200, np.uint8)
    image[60:180, 80:240] = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    return image


class EmptyBelt:
    """A camera source over the belt with no item under it: a frame every 20 ms, none showing an item."""

    name = "top"

    def open(self) -> None:
        pass

    def read(self) -> tuple[np.ndarray, int | None] | None:
        time.sleep(0.02)
        return np.zeros((48, 64, 3), np.uint8), None

    def close(self) -> None:
        pass


class CountingCamera(Camera):
    """The station's camera, noting each item's wait for its frame: (tag, timeout)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.waits: list[tuple[int | None, float]] = []

    def wait_frame(self, after: float, timeout: float, tag: int | None = None) -> Frame | None:
        self.waits.append((tag, timeout))
        return super().wait_frame(after, timeout, tag)
