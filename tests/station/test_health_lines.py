"""The status bar's words for each part: what the operator reads when something is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.devices import camera_health
from station.diskguard import DiskState
from station.health import disk_health
from station.live_models import ModelSet
from station.state import Level
from station.uplink import sync_health
from sync.publisher import PublisherStats
from vision.camera import CameraHealth, CameraState


@pytest.mark.parametrize(("free_mb", "level"),
                         [(5000.0, Level.OK), (1500.0, Level.WARNING), (800.0, Level.ERROR)])
def test_disk_line_turns_amber_then_red_as_space_runs_out(free_mb: float, level: Level) -> None:
    health = disk_health(DiskState(Path("/data"), free_mb, 100, full=False), min_free_mb=1000)
    assert health.level is level
    assert (health.detail == "") == (level is Level.OK)
    if level is not Level.OK:
        assert "/data" in health.detail and "1000 MB" in health.detail


def test_a_full_disk_says_the_station_takes_no_items() -> None:
    health = disk_health(DiskState(Path("/data"), 50.0, 100, full=True), min_free_mb=1000)
    assert health.level is Level.ERROR
    assert health.summary == "disk full: not taking items"
    assert "stop_free_disk_mb" in health.detail


def test_mqtt_down_says_nothing_is_lost() -> None:
    health = sync_health(PublisherStats(connected=False, backlog=12, last_error="connection refused"))
    assert health.level is Level.ERROR
    assert health.summary == "MQTT down, 12 verdicts waiting"
    assert "connection refused" in health.detail and "Nothing is lost" in health.detail


def test_unacknowledged_verdicts_older_than_a_minute_warn() -> None:
    recent = sync_health(PublisherStats(connected=True, backlog=3, oldest_undelivered_age_s=59.0))
    assert recent.level is Level.OK
    late = sync_health(PublisherStats(connected=True, backlog=3, oldest_undelivered_age_s=61.0))
    assert late.level is Level.WARNING and "oldest 61 s" in late.summary


def test_a_camera_down_is_an_error_and_a_stopped_one_says_nothing() -> None:
    down = camera_health(CameraHealth("top", CameraState.DOWN, "cannot open /dev/video0", 10, 3, 0.0))
    assert down is not None and down.level is Level.ERROR and down.component == "camera:top"
    assert "manual review" in down.detail and down.values == {"reopens": 3}
    live = camera_health(CameraHealth("top", CameraState.LIVE, "", 300, 0, 29.97))
    assert live is not None and live.level is Level.OK and live.values["fps"] == 30.0
    assert camera_health(CameraHealth("top", CameraState.STOPPED, "", 300, 0, 0.0)) is None


def test_models_missing_send_items_to_manual_review() -> None:
    health = ModelSet(defect_error="defect model not loaded: no model.onnx").health()
    assert health.level is Level.ERROR
    assert "no model.onnx" in health.detail and "manual review" in health.detail
    assert ModelSet().health().level is Level.WARNING  # nothing enrolled: enrol first


def test_a_full_disk_is_explained_in_the_operators_language() -> None:
    disk = DiskState(Path("/data"), 50.2, 100, full=True)
    assert disk_health(disk, min_free_mb=1000, language="en").detail == disk.message()  # as the log says it
    french = disk_health(disk, min_free_mb=1000, language="fr").detail
    assert "50,2 Mo libres" in french and "contrôle manuel" in french and "/data" in french
