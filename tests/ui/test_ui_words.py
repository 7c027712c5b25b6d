"""The words the window derives from verdicts and health: lanes, times, search text, chips, history rows,
the settings mapping; and a verdict without findings on the card."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from station.config import load_config
from station.state import Health, ItemView, Level
from station.ui.card_words import code_words
from station.ui.item_card import ItemCard
from station.ui.item_dialog import HISTORY_COLUMNS, history_row
from station.ui.settings import ui_settings_from_config
from station.ui.status_panel import health_text
from station.ui.verdict_text import decided_by, lane_text, search_text, time_text
from station.verdict import CONVEYOR, Change, CodeRead, Disposition, Inspection, ItemInfo, Routing, Verdict
from tests.ui.feeder import make_item

pytestmark = pytest.mark.gui


def _verdict(seq: int = 3) -> Verdict:
    return make_item(seq, frame=False).verdict


def _routed(verdict: Verdict, **routing: object) -> Verdict:
    return dataclasses.replace(verdict, routing=dataclasses.replace(verdict.routing, **routing))


def test_lane_text_says_late_lost_confirmed_and_commanded() -> None:
    verdict = _routed(_verdict(), lane_commanded=1, lane_confirmed=1)
    assert lane_text(verdict, "restock", {}) == "Lane 1 restock (confirmed)"
    commanded = _routed(verdict, lane_confirmed=None)
    assert lane_text(commanded, None, {1: "restock"}) == "Lane 1 restock (commanded)"
    late = _routed(verdict, lane_confirmed=0, late=True)
    assert lane_text(late, None, {0: "manual"}) == "Lane 0 manual - LATE, controller sent it to manual"
    lost = _routed(verdict, lost=True)
    assert lane_text(lost, None, {}) == "Lane 1 - LOST on the belt"
    bench = dataclasses.replace(verdict, routing=Routing())
    assert lane_text(bench, None, {}) == "bench (not routed)"
    assert lane_text(_routed(bench, late=True), None, {}) == "not routed"


def test_the_confirmed_lane_wins_over_the_commanded_one() -> None:
    assert Routing(lane_commanded=2, lane_confirmed=0).lane == 0
    assert Routing(lane_commanded=2).lane == 2
    assert Routing().lane is None


def test_time_and_author_of_a_verdict(dock_zone: Callable[[str], None]) -> None:
    verdict = dataclasses.replace(_verdict(), created_at=datetime(2026, 11, 24, 14, 5, 9, 120_000, UTC))
    dock_zone("UTC0")
    assert time_text(verdict) == "14:05:09"
    dock_zone("CET-1")  # a dock in Paris in November: the list shows its wall clock, not UTC
    assert time_text(verdict) == "15:05:09"
    assert decided_by(verdict) == "auto"
    assert decided_by(verdict.override(Disposition.REPAIR, "op-7", "hinge cracked")) == "op-7"


def test_search_text_holds_rma_skus_gtins_and_code_texts() -> None:
    verdict = _verdict()
    item = dataclasses.replace(verdict.item, codes=(
        CodeRead("EAN13", "4006381333931"),
        CodeRead("DataMatrix", "(01)09506000134352(10)AB", {"01": "09506000134352", "10": "AB"}),
        CodeRead("QR", "https://example.com/r/1"),
    ))
    assert item.gtins == ("4006381333931", "09506000134352")
    words = search_text(dataclasses.replace(verdict, item=item)).split()
    assert words == [
        (verdict.item.rma or "").lower(), (verdict.item.expected_sku or "").lower(),
        (verdict.item.observed_sku or "").lower(), "4006381333931", "09506000134352",
        "4006381333931", "(01)09506000134352(10)ab", "https://example.com/r/1",
    ]


def test_sku_match_is_unknown_until_both_skus_are_known() -> None:
    assert ItemInfo(expected_sku="SKU-A", observed_sku="SKU-A").sku_matches is True
    assert ItemInfo(expected_sku="SKU-A", observed_sku="SKU-B").sku_matches is False
    assert ItemInfo(expected_sku="SKU-A").sku_matches is None


def test_a_verdict_without_codes_or_findings_renders_on_the_card(qtbot: QtBot) -> None:
    bare = dataclasses.replace(_verdict(), item=ItemInfo(), inspection=Inspection(), routing=Routing())
    card = ItemCard()
    qtbot.addWidget(card)
    card.show_item(ItemView(verdict=bare, frame=None))
    assert card.rma.text() == "RMA – (none read)"
    assert card.observed.text() == "Seen –"
    assert card.confidence.text().startswith("Confidence ")
    assert "defect" not in card.confidence.text() and "similarity" not in card.confidence.text()
    assert card.lane.text() == "On the bench: not sent to a lane"
    assert card.captured_image.text() == "No picture"


def test_chip_words_do_not_repeat_the_component_name() -> None:
    assert health_text(Health("disk", Level.OK, "disk 77.7 GB free")) == "Disk 77.7 GB free"
    assert health_text(Health("camera:top", Level.OK, "camera top live")) == "Camera top live"
    assert health_text(Health("mqtt", Level.ERROR, "disconnected")) == "MQTT: disconnected"
    loading = Health("models", Level.WARNING, "loading defect model", values={"progress": 0.4})
    assert health_text(loading) == "Models: loading defect model 40%"


def test_history_rows_summarise_verdict_revisions() -> None:
    first = _verdict(5)
    second = first.override(Disposition.REPAIR, "op-7", "hinge cracked",
                            at=datetime(2026, 11, 24, 14, 7, 0, tzinfo=UTC))
    routed = second.revise(Change.ROUTED, CONVEYOR, routing=Routing(lane_commanded=3, lane_confirmed=3))
    rows = [dict(zip(HISTORY_COLUMNS, history_row(v, p), strict=True))
            for v, p in ((first, None), (second, first), (routed, second))]
    assert rows[0]["Who"] == "station" and rows[0]["Revision"] == "1"
    assert rows[0]["What"] == f"Inspected: grade {first.decision.grade.value}, " + \
        first.decision.disposition.value.replace("_", " ")
    assert rows[0]["Why"] == "; ".join(first.decision.reasons)
    local = datetime(2026, 11, 24, 14, 7, 0, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert rows[1] == {"Revision": "2", "When": local, "Who": "op-7", "What": "Overridden to repair",
                       "Why": "hinge cracked"}
    assert (rows[2]["Who"], rows[2]["What"]) == ("conveyor", "Conveyor confirmed lane 3")


def test_settings_from_config_carry_thresholds_ranges_and_lanes() -> None:
    settings = ui_settings_from_config(load_config(None, env={"STATION_SUPERVISOR_PIN": "9911"}))
    by_key = {t.key: t for t in settings.thresholds}
    assert (by_key["conformity_min_similarity"].low, by_key["conformity_min_similarity"].high) == (-1.0, 1.0)
    assert by_key["defect_repair"].value == 0.5
    assert settings.supervisor_pin == "9911"
    assert settings.lane_names[1] == "restock"
    assert settings.dispositions[0] == "restock"


def test_a_gs1_codes_gtin_reads_as_the_ean_13_printed_beside_it() -> None:
    """The demo box carries an EAN-13 and a GS1 DataMatrix of the same product: the picture must not
    label them as two GTINs ("02012345000018" and "2012345000018")."""
    codes = (CodeRead("EAN13", "2012345000018"),
             CodeRead("DataMatrix", "0102012345000018215N0018", {"01": "02012345000018", "21": "5N0018"}),
             CodeRead("DataMatrix", "0112345678901231", {"01": "12345678901231"}))  # a case: GTIN-14 stays
    verdict = dataclasses.replace(_verdict(), item=dataclasses.replace(_verdict().item, codes=codes))
    assert [code_words(c.text, verdict) for c in codes] == [
        "GTIN 2012345000018", "GTIN 2012345000018", "GTIN 12345678901231"]
