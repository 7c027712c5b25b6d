"""The station's Prometheus endpoint, scraped over HTTP while `station run --headless` runs the demo
line: every figure agrees with the run's own JSON summary."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

ITEMS = 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[str, list[Sample]] | None:
    """The endpoint's families by name (None while nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode("utf-8")
    except OSError:
        return None
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(families: dict[str, list[Sample]], name: str, **labels: str) -> float:
    """The one sample called `name` with these labels."""
    found = [s.value for family in families.values() for s in family
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_a_scrape_during_a_headless_run_says_what_its_summary_says(tmp_path: Path) -> None:
    port = free_port()
    # A broker nobody answers on: the outbox keeps every verdict, and the run waits its whole drain
    # time at the end with every item settled — the moment the last scrape below reads.
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "data"\n[sync]\nbroker = "127.0.0.1"\nport = {free_port()}\n'
                      f'[metrics]\nlisten = "127.0.0.1:{port}"\n', encoding="utf-8")
    log = (tmp_path / "station.err").open("wb")
    run = subprocess.Popen(
        [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", "--items", str(ITEMS),
         "--rate", "8", "--json", "--drain-timeout", "6"],
        cwd=tmp_path, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    scrapes: list[dict[str, list[Sample]]] = []
    try:
        deadline = time.monotonic() + 240
        while run.poll() is None and time.monotonic() < deadline:
            families = scrape(port)
            if families is not None:
                scrapes.append(families)
            time.sleep(0.2)
        out, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
        log.close()
    errors = (tmp_path / "station.err").read_text(encoding="utf-8")
    assert run.returncode == 0, errors[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])["summary"]
    assert summary["items"] == ITEMS
    # The endpoint answered while the run went on, and its last answer came after every item settled.
    assert scrapes, errors[-3000:]
    last = scrapes[-1]

    recorded = [s for s in last["station_items_recorded"] if s.name == "station_items_recorded_total"]
    assert sum(s.value for s in recorded) == summary["items"]
    assert {s.labels["disposition"] for s in recorded} == {"restock", "repair", "recycle", "quarantine",
                                                          "manual_review"}
    for metric, key in (("station_items_late_total", "late"), ("station_items_misrouted_total", "misrouted"),
                        ("station_items_lost_total", "lost"), ("station_items_confirmed_total", "confirmed"),
                        ("station_items_overloaded_total", "overloaded"),
                        ("station_record_errors_total", "record_errors"),
                        ("station_items_disk_full_total", "disk_full"),
                        ("station_items_unrecorded_total", "unrecorded"),
                        ("station_outbox_backlog", "outbox_backlog")):
        assert value(last, metric) == summary[key], metric
    assert value(last, "station_triggers_total") == ITEMS
    views, inspected = value(last, "station_views_total"), value(last, "station_items_inspected_total")
    assert round(views / inspected, 2) == summary["views_per_item"]

    # Every item's latency was counted once, and the summary's median lies in the bucket the
    # histogram puts it in.
    buckets = sorted((float(s.labels["le"]), s.value) for s in last["station_item_latency_seconds"]
                     if s.name == "station_item_latency_seconds_bucket")
    assert buckets[-1] == (math.inf, ITEMS)
    assert value(last, "station_item_latency_seconds_count") == ITEMS
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)
    median_s = summary["latency_ms_p50"] / 1000
    upper = next(bound for bound, count in buckets if count > ITEMS // 2)
    lower = max((bound for bound, count in buckets if count <= ITEMS // 2), default=0.0)
    assert lower < median_s <= upper
    # The sum is the sum of the latencies counted: each lies between its bucket's bounds.
    within = list(zip([0.0, *(bound for bound, _ in buckets)], buckets, strict=False))
    in_bucket = [(low, high, count - before) for (low, (high, count)), before in
                 zip(within, [0.0, *counts], strict=False)]
    total = value(last, "station_item_latency_seconds_sum")
    assert sum(low * n for low, _, n in in_bucket) <= total
    assert in_bucket[-1][2] > 0 or total <= sum(high * n for _, high, n in in_bucket[:-1])

    # The parts' state: the belt's link is up, the broker is not, the camera delivers frames.
    assert value(last, "station_conveyor_link_up") == 1
    assert value(last, "station_mqtt_connected") == 0
    assert value(last, "station_outbox_oldest_age_seconds") > 0
    assert value(last, "station_camera_up", camera="top") == 1
    assert value(last, "station_camera_fps", camera="top") > 0
    assert value(last, "station_disk_free_bytes") > 0
    assert value(last, "station_info", station_id="dock-01", site_id="site-01") == 1
    models = {s.labels["name"]: s.labels for s in last["station_model_info"]}
    assert set(models) == {"defect", "conformity"}
    assert all(len(m["sha256"]) == 64 and m["version"] and m["role"] == "active" for m in models.values())
    # The run stopped the endpoint with everything else.
    assert scrape(port) is None
