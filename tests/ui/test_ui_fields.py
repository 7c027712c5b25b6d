"""The words the window derives from verdicts and health: lanes, chips, history rows, the settings mapping."""

from __future__ import annotations

import copy

import pytest

from station.config import load_config
from station.state import Health, Level
from station.ui.item_dialog import history_row
from station.ui.settings import ui_settings_from_config
from station.ui.status_panel import health_text
from station.ui.verdict_fields import fields_of, lane_text
from tests.ui.feeder import make_item

pytestmark = pytest.mark.gui


def test_lane_text_says_late_and_confirmed() -> None:
    verdict = make_item(3, frame=False).verdict
    f = fields_of(verdict)
    assert lane_text(f, "restock", {}).endswith("(confirmed)")
    late = copy.deepcopy(verdict)
    late["routing"].update(lane_confirmed=0, late=True)
    assert "LATE" in lane_text(fields_of(late), None, {0: "manual"})
    bench = copy.deepcopy(verdict)
    bench["routing"].update(lane_commanded=None, lane_confirmed=None)
    assert lane_text(fields_of(bench), None, {}) == "bench (not routed)"


def test_fields_tolerate_a_verdict_with_missing_parts() -> None:
    f = fields_of({"verdict_id": "x", "decision": {"grade": "C"}})
    assert (f.grade, f.disposition, f.rma, f.gtins, f.confidence) == ("C", None, None, (), None)


def test_chip_words_do_not_repeat_the_component_name() -> None:
    assert health_text(Health("disk", Level.OK, "disk 77.7 GB free")) == "Disk 77.7 GB free"
    assert health_text(Health("camera:top", Level.OK, "camera top live")) == "Camera top live"
    assert health_text(Health("mqtt", Level.ERROR, "disconnected")) == "MQTT: disconnected"
    loading = Health("models", Level.WARNING, "loading defect model", values={"progress": 0.4})
    assert health_text(loading) == "Models: loading defect model 40%"


def test_history_rows_summarise_verdict_revisions() -> None:
    first = make_item(5, frame=False).verdict
    second = copy.deepcopy(first)
    second["revision"] = 2
    second["decision"].update(source="operator", operator_id="op-7", disposition="repair",
                              override_reason="hinge cracked")
    rows = [history_row(first), history_row(second)]
    assert rows[0]["by"] == "auto" and rows[0]["revision"] == 1
    assert rows[1] == {"revision": 2, "decided at": second["decided_at"], "by": "op-7",
                       "grade": second["decision"]["grade"], "disposition": "repair", "why": "hinge cracked"}
    assert history_row({"action": "confirm", "by": "op-7"}) == {"action": "confirm", "by": "op-7"}


def test_settings_from_config_carry_thresholds_ranges_and_lanes() -> None:
    settings = ui_settings_from_config(load_config(None, env={"STATION_SUPERVISOR_PIN": "9911"}))
    by_key = {t.key: t for t in settings.thresholds}
    assert (by_key["conformity_min_similarity"].low, by_key["conformity_min_similarity"].high) == (-1.0, 1.0)
    assert by_key["defect_repair"].value == 0.5
    assert settings.supervisor_pin == "9911"
    assert settings.lane_names[1] == "restock"
    assert settings.dispositions[0] == "restock"
