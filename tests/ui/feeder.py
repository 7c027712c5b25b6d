"""A demo feeder for the window: realistic ItemViews pushed into a StationState from a worker thread,
and station actions that record every call (and, like the station, write a new revision on override).

Run the window on it for development:  .venv/bin/python -m tests.ui.feeder [--rate 2] [--items 0]
The docs screenshot is made with the real pipeline (`station run --screenshot`), not with this.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from station.config import HardwareConfig
from station.hand_move import override_revision
from station.state import Health, ItemView, Level, Overlay, StationState
from station.verdict import Disposition, Verdict

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1280, 720
SKUS = ("SKU-KETTLE-1L", "SKU-TOASTER-2S", "SKU-HEADPH-BT", "SKU-LAMP-E27", "SKU-DRILL-18V")
LANES = HardwareConfig().lanes  # the station's default lanes, as the real overrides see them
DISPOSITION_OF_GRADE = {"A": "restock", "B": "restock", "C": "repair", "D": "recycle"}


def ean13(body12: str) -> str:
    """The 12 digits plus their check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def draw_frame(seq: int, box: tuple[int, int, int, int], code_quad: np.ndarray, damaged: bool) -> np.ndarray:
    """A conveyor frame: belt, a cardboard item, a white label with bars, maybe a dark tear."""
    frame = np.full((HEIGHT, WIDTH, 3), 70, np.uint8)
    for x in range(0, WIDTH, 80):  # belt slats
        cv2.line(frame, (x + seq * 7 % 80, 0), (x + seq * 7 % 80, HEIGHT), (60, 60, 60), 3)
    x, y, w, h = box
    cv2.rectangle(frame, (x, y), (x + w, y + h), (90, 140, 190), -1)  # cardboard (BGR)
    cv2.rectangle(frame, (x, y), (x + w, y + h), (60, 100, 140), 4)
    lx, ly = code_quad[0]
    cv2.rectangle(frame, (int(lx) - 10, int(ly) - 10), (int(lx) + 230, int(ly) + 110), (245, 245, 245), -1)
    rng = np.random.default_rng(seq)
    bx = int(lx)
    while bx < lx + 210:
        width = int(rng.integers(1, 5))
        cv2.rectangle(frame, (bx, int(ly)), (bx + width - 1, int(ly) + 90), (0, 0, 0), -1)
        bx += width + int(rng.integers(1, 4))
    if damaged:
        cv2.line(frame, (x + w // 2, y + 20), (x + w // 2 + 60, y + h // 2), (30, 30, 40), 9)
    return frame


def make_verdict(seq: int, rng: np.random.Generator, session: str) -> tuple[Verdict, dict[str, Any]]:
    """A verdict and the drawing hints (boxes) of one item; `session` names the session's UUID."""
    expected = SKUS[seq % len(SKUS)]
    wrong = rng.random() < 0.1
    observed = SKUS[(seq + 1) % len(SKUS)] if wrong else expected
    defect = float(rng.beta(1.2, 5.0))
    grade = "A" if defect < 0.2 else "B" if defect < 0.5 else "C" if defect < 0.85 else "D"
    disposition = "manual_review" if wrong else DISPOSITION_OF_GRADE[grade]
    reasons = [f"defect score {defect:.2f}" + (" below the repair threshold 0.50" if defect < 0.5 else "")]
    if wrong:
        reasons.append(f"seen {observed}, expected {expected}: not the returned product")
    gtin = ean13(f"400638{seq:06d}"[:12])
    box = (300 + int(rng.integers(0, 200)), 120 + int(rng.integers(0, 80)), 520, 420)
    quad = np.array(
        [
            [box[0] + 40, box[1] + 40],
            [box[0] + 260, box[1] + 40],
            [box[0] + 260, box[1] + 130],
            [box[0] + 40, box[1] + 130],
        ]
    )
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lane = {"restock": 1, "repair": 2, "recycle": 3, "manual_review": 0, "quarantine": 4}[disposition]
    regions = (
        [[box[0] + box[2] // 2 - 20, box[1] + 10, 110, box[3] // 2, round(defect, 2)]]
        if defect >= 0.5
        else []
    )
    verdict: dict[str, Any] = {
        "schema": "returns.verdict/1",
        "verdict_id": str(uuid.uuid4()),
        "revision": 1,
        "station_id": "dock-01",
        "site_id": "site-01",
        "session": str(uuid.uuid5(uuid.NAMESPACE_URL, session)),
        "seq": seq,
        "item": {
            "controller_item_id": seq,
            "rma": f"R-{1000 + seq}",
            "codes": [{"format": "EAN13", "text": gtin, "gs1": {"01": "0" + gtin}}],
            "expected_sku": expected,
            "observed_sku": observed,
            "declared_reason": ("unopened", "defective", "no_longer_needed")[seq % 3],
        },
        "inspection": {
            "defect": {
                "score": round(defect, 3),
                "label": "ok" if defect < 0.5 else "tear",
                "probs": {"ok": round(1 - defect, 3), "tear": round(defect, 3)},
                "regions": regions,
            },
            "conformity": {
                "similarity": 0.42 if wrong else 0.88,
                "best_sku": observed,
                "best_similarity": 0.9,
            },
            "images": [{"camera": "top", "sha256": "0" * 64, "path": None}],
            "quality": {"sharpness": 150.0, "exposure_ok": True},
        },
        "decision": {
            "grade": grade,
            "disposition": disposition,
            "reasons": reasons,
            "flags": ["fraud_review"] if wrong and seq % 3 == 0 else [],
            "confidence": round(0.55 + 0.4 * abs(defect - 0.5) * 2, 2),
            "source": "auto",
            "operator_id": None,
            "override_reason": None,
        },
        "routing": {"lane_commanded": lane, "lane_confirmed": lane, "late": False, "lost": False},
        "models": [{"name": "defect", "version": "2026.11.24", "sha256": "1" * 64}],
        "timings_ms": {
            "capture": 1.2,
            "codes": 3.4,
            "defect": 5.0,
            "conformity": 4.1,
            "policy": 0.1,
            "record": 1.5,
            "total": 15.3,
        },
        "created_at": now,
        "decided_at": now,
    }
    return Verdict.from_json(verdict), {"box": box, "quad": quad, "damaged": defect >= 0.5}


def make_item(
    seq: int, rng: np.random.Generator | None = None, session: str = "demo-session", frame: bool = True
) -> ItemView:
    """One decided item as the pipeline would publish it."""
    rng = rng or np.random.default_rng(seq)
    verdict, hints = make_verdict(seq, rng, session)
    box = hints["box"]
    quad = hints["quad"]
    heat = None
    if hints["damaged"]:
        yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
        heat = np.exp(-(((xx - 36) / 8) ** 2 + ((yy - 16) / 10) ** 2)).astype(np.float32)
    found = verdict.inspection.defect.regions if verdict.inspection.defect else ()
    regions = tuple((int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4]) for r in found)
    overlay = Overlay(
        codes=((verdict.item.codes[0].text, tuple((int(x), int(y)) for x, y in quad)),),
        regions=regions,
        heatmap=heat,
        item_box=box,
        roi=(100, 40, 1080, 640),
    )
    image = draw_frame(seq, box, quad, hints["damaged"]) if frame else None
    lane_names = {0: "manual", 1: "restock", 2: "repair", 3: "recycle", 4: "quarantine"}
    return ItemView(
        verdict=verdict,
        frame=image,
        overlay=overlay,
        lane_name=lane_names[verdict.routing.lane_commanded or 0],
    )


@dataclass
class RecordingActions:
    """StationActions recording each call; override writes a new revision into the state like the station."""

    state: StationState
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    fail_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, name: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((name, args))
        if self.fail_with:
            raise RuntimeError(self.fail_with)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of `name`."""
        with self.lock:
            return [args for n, args in self.calls if n == name]

    def sign_in(self, operator_id: str) -> None:
        self._record("sign_in", operator_id)
        self.state.operator_id = operator_id

    def confirm(self, verdict_id: str) -> None:
        self._record("confirm", verdict_id)

    def override(
        self, verdict_id: str, disposition: str, reason: str, supervisor_pin: str | None = None
    ) -> None:
        self._record("override", verdict_id, disposition, reason, supervisor_pin)
        for view in self.state.recent():
            if view.verdict.verdict_id == verdict_id:
                operator = self.state.operator_id or "?"
                verdict = override_revision(view.verdict, Disposition(disposition), operator, reason, LANES)
                self.state.update_item(verdict)

    def withdraw(self, verdict_id: str, intent: str) -> None:
        self._record("withdraw", verdict_id, intent)

    def needs_supervisor(self, verdict_id: str, note: str) -> None:
        self._record("needs_supervisor", verdict_id, note)

    def reinspect(self) -> None:
        self._record("reinspect")

    def trigger(self) -> None:
        self._record("trigger")

    def scan(self, text: str) -> None:
        self._record("scan", text)

    def set_mode(self, mode: str) -> None:
        self._record("set_mode", mode)
        self.state.mode = mode

    def set_thresholds(self, values: dict[str, float]) -> None:
        self._record("set_thresholds", values)


def healthy(state: StationState) -> None:
    """Every component OK, as after a clean start."""
    for health in (
        Health("camera:top", Level.OK, "30 fps"),
        Health("conveyor", Level.OK, "boot 7f3a, heartbeat 12 ms"),
        Health("mqtt", Level.OK, "connected, 0 waiting", values={"backlog": 0, "oldest_s": 0.0}),
        Health("models", Level.OK, "defect 2026.11.24, conformity 2026.11.24"),
        Health("disk", Level.OK, "212 GB free"),
        Health("calibration", Level.OK, "calibrated 2026-11-20, 0.31 px error"),
    ):
        state.set_health(health)


def from_worker(action: object) -> None:
    """Run `action` on a thread of its own, as health arrives from the device threads, never the Qt one."""
    thread = threading.Thread(target=action)  # type: ignore[arg-type]
    thread.start()
    thread.join()


def demo_kpi() -> dict[str, Any]:
    """A statistics report shaped like station/kpi.py's (see station/ui/kpi_panel.py)."""
    hours = [f"{h:02d}:00" for h in range(14, 22)]
    return {
        "window_h": 8,
        "items_total": 3120,
        "items_per_hour": [
            [h, n] for h, n in zip(hours, (310, 402, 388, 415, 290, 398, 420, 497), strict=True)
        ],
        "dispositions": {
            "restock": 2210,
            "repair": 410,
            "recycle": 160,
            "manual_review": 300,
            "quarantine": 40,
        },
        "override_rate": 0.043,
        "override_rate_per_hour": [
            [h, r] for h, r in zip(hours, (0.05, 0.04, 0.06, 0.03, 0.04, 0.05, 0.04, 0.03), strict=True)
        ],
        "latency_ms": {"p50": 17.0, "p95": 31.0},
        "latency_per_hour": [[h, 16 + i % 3, 29 + i % 4] for i, h in enumerate(hours)],
    }


class Feeder(threading.Thread):
    """Pushes `count` items (0 = until stopped) at `rate` per second from its own thread."""

    def __init__(self, state: StationState, rate: float, count: int = 0, start_seq: int = 1) -> None:
        super().__init__(name="ui-feeder", daemon=True)
        self.state = state
        self.rate = rate
        self.count = count
        self.seq = start_seq
        self.stop_event = threading.Event()
        self.templates = [make_item(i) for i in range(start_seq, start_seq + 8)]

    def run(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        pushed = 0
        rng = np.random.default_rng(1)
        while not self.stop_event.is_set() and (self.count == 0 or pushed < self.count):
            template = self.templates[pushed % len(self.templates)]
            verdict, _hints = make_verdict(self.seq, rng, "demo-session")
            self.state.add_item(
                ItemView(
                    verdict=verdict,
                    frame=template.frame,
                    overlay=template.overlay,
                    lane_name=template.lane_name,
                )
            )
            self.state.set_counters({"items": self.seq, "queue": 0, "rate_per_s": self.rate})
            self.seq += 1
            pushed += 1
            next_at += period
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        """Stop after the current item."""
        self.stop_event.set()


def main() -> int:
    """Open the window on the demo feeder."""
    from station.ui.app import run_app
    from station.ui.settings import ThresholdRange, UiSettings

    parser = argparse.ArgumentParser(description="the station window on demo items")
    parser.add_argument("--rate", type=float, default=1.0, help="items per second")
    parser.add_argument("--items", type=int, default=0, help="items to push (0 = until closed)")
    parser.add_argument("--screenshot", default=None, help="save PNGs here and exit")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    state = StationState()
    healthy(state)
    actions = RecordingActions(state)
    settings = UiSettings(
        supervisor_pin="1234",
        station_id="dock-01",
        thresholds=(
            ThresholdRange("defect_repair", "Defect score for repair", 0.0, 1.0, 0.5),
            ThresholdRange("defect_recycle", "Defect score for recycle", 0.0, 1.0, 0.85),
        ),
    )
    feeder = Feeder(state, args.rate, args.items)
    feeder.start()
    from pathlib import Path

    code = run_app(
        state,
        actions,
        settings,
        kpi_source=demo_kpi,
        about={"station": "demo"},
        history_source=lambda vid: [v.verdict for v in state.recent() if v.verdict.verdict_id == vid],
        screenshot=Path(args.screenshot) if args.screenshot else None,
        items=args.items or 5,
    )
    feeder.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
