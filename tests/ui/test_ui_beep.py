"""The bell: an item sent to quarantine or a part turning red beeps once, so an operator watching the
belt hears it; a burst is one beep, and `[ui] beep = false` is silence."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

import station.ui.main_window as main_window
from station.alert_sound import AlertSound
from station.state import Health, ItemView, Level, StationState
from station.verdict import Disposition
from tests.ui.feeder import make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def _item(seq: int, disposition: Disposition) -> ItemView:
    view = make_item(seq)
    decision = dataclasses.replace(view.verdict.decision, disposition=disposition)
    return dataclasses.replace(view, verdict=dataclasses.replace(view.verdict, decision=decision))


def test_a_quarantined_item_and_a_part_turning_red_beep_once_each(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(main_window, "BEEP_GAP_S", 0.0)  # every attention counts here (gap: below)
    beeps: list[str] = []
    state = StationState()
    window, _ = open_window(qtbot, state, window_kwargs={"beeper": lambda: beeps.append("beep")})
    state.add_item(_item(1, Disposition.RESTOCK))
    state.add_item(_item(2, Disposition.MANUAL_REVIEW))  # goes down the manual lane: no alarm
    qtbot.waitUntil(lambda: window.items_seen == 2)
    assert beeps == []
    state.add_item(_item(3, Disposition.QUARANTINE))
    qtbot.waitUntil(lambda: beeps == ["beep"])
    state.set_health(Health("conveyor", Level.ERROR, "jam at the diverter", "clear the belt"))
    qtbot.waitUntil(lambda: len(beeps) == 2)
    state.set_health(Health("conveyor", Level.ERROR, "jam at the diverter", "clear the belt, 10 s"))
    state.set_health(Health("disk", Level.WARNING, "disk 1.9 GB free"))  # amber: no alarm
    qtbot.wait(200)
    assert len(beeps) == 2  # still the same jam: no new beep
    state.set_health(Health("conveyor", Level.OK, "conveyor running"))
    state.set_health(Health("conveyor", Level.ERROR, "jam at the diverter", "clear the belt"))
    qtbot.waitUntil(lambda: len(beeps) == 3)  # a new jam


def test_a_burst_is_one_beep_and_the_setting_silences_it(qtbot: QtBot) -> None:
    beeps: list[str] = []
    state = StationState()
    window, _ = open_window(qtbot, state, window_kwargs={"beeper": lambda: beeps.append("beep")})
    for seq in range(1, 4):
        state.add_item(_item(seq, Disposition.QUARANTINE))  # three within a second
    qtbot.waitUntil(lambda: window.items_seen == 3)
    assert beeps == ["beep"] and window.attentions == 1
    quiet: list[str] = []
    state = StationState()
    window, _ = open_window(qtbot, state, beep=False, window_kwargs={"beeper": lambda: quiet.append("beep")})
    state.add_item(_item(9, Disposition.QUARANTINE))
    state.set_health(Health("camera:top", Level.ERROR, "camera top down"))
    qtbot.waitUntil(lambda: window.items_seen == 1)
    qtbot.wait(100)
    assert quiet == []


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (Debian's alsa-utils) is not installed")
def test_a_quarantined_item_plays_the_alert_tone_on_the_sound_device(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `station run` gives the window: the tone through ALSA's default device (here a file, as a
    sound card is fed), not the desktop's bell that most PCs do not sound."""
    received = tmp_path / "received.raw"
    (tmp_path / ".asoundrc").write_text(
        f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{received}"\n  format "raw"\n}}\n',
        encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    alert = AlertSound.find(tmp_path)
    assert alert is not None
    state = StationState()
    window, _ = open_window(qtbot, state, window_kwargs={"beeper": alert.play})
    state.add_item(_item(1, Disposition.QUARANTINE))
    qtbot.waitUntil(lambda: window.attentions == 1)
    assert alert.wait() == 0
    samples = np.frombuffer(received.read_bytes(), "<i2")
    assert np.abs(samples.astype(float)).max() > 0.5 * 32767  # the tone, loud
