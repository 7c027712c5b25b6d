"""The operator's alert tone reaches the PC's sound device: ALSA's default device is pointed at a file
(its `file` plugin, as a sound card would be fed), and what it received is the tone's two notes."""

from __future__ import annotations

import logging
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from station.alert_sound import RATE, TONE, AlertSound, sound_cards, write_tone
from station.config import Config, load_config
from station.doctor import Status, check_sound

needs_aplay = pytest.mark.skipif(shutil.which("aplay") is None,
                                 reason="aplay (Debian's alsa-utils) is not installed")


def _device_to_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ALSA's default device for this test's processes: a file of the raw samples played."""
    received = home / "received.raw"
    (home / ".asoundrc").write_text(
        f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{received}"\n  format "raw"\n}}\n',
        encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    return received


def _loudest_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def test_the_tone_is_two_notes_with_quiet_edges(tmp_path: Path) -> None:
    wav = write_tone(tmp_path / "alert.wav")
    with wave.open(str(wav), "rb") as tone:
        assert (tone.getnchannels(), tone.getsampwidth(), tone.getframerate()) == (1, 2, RATE)
        samples = np.frombuffer(tone.readframes(tone.getnframes()), "<i2").astype(float)
    first, gap, second = (round(seconds * RATE) for _, seconds in TONE)
    assert len(samples) == first + gap + second
    assert _loudest_hz(samples[:first]) == pytest.approx(TONE[0][0], abs=10)
    assert not samples[first:first + gap].any()
    assert _loudest_hz(samples[first + gap:]) == pytest.approx(TONE[2][0], abs=10)
    assert abs(samples[0]) < 100 and abs(samples[-1]) < 100  # no click at the edges
    assert 0.5 * 32767 < np.abs(samples).max() < 32767  # loud, not clipped


@needs_aplay
def test_the_alert_reaches_the_sound_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    received = _device_to_file(tmp_path, monkeypatch)
    alert = AlertSound.find(tmp_path)
    assert alert is not None
    alert.play()
    alert.play()  # while the first still plays: not started twice
    assert alert.wait() == 0
    assert alert.played == 1
    samples = np.frombuffer(received.read_bytes(), "<i2").astype(float)
    first, gap, second = (round(seconds * RATE) for _, seconds in TONE)
    assert len(samples) >= first + gap + second  # a device may pad the last period with silence
    assert _loudest_hz(samples[:first]) == pytest.approx(TONE[0][0], abs=10)
    assert _loudest_hz(samples[first + gap:first + gap + second]) == pytest.approx(TONE[2][0], abs=10)


@needs_aplay
def test_a_device_that_cannot_play_is_named_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / ".asoundrc").write_text('pcm.!default { type hw; card 97 }\n', encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    alert = AlertSound.find(tmp_path)
    assert alert is not None
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            alert.play()
            assert alert.wait() != 0
    said = [r.getMessage() for r in caplog.records if "could not play the alert" in r.getMessage()]
    assert len(said) == 1 and "aplay -l" in said[0]


def test_without_aplay_the_window_keeps_the_desktop_bell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        assert AlertSound.find(tmp_path) is None
    assert "install Debian's alsa-utils" in caplog.text
    assert sound_cards() is None


def _doctor_config(tmp_path: Path, beep: bool = True) -> Config:
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n[ui]\nbeep = {str(beep).lower()}\n',
                      encoding="utf-8")
    return load_config(config, env={})


def _on_path(monkeypatch: pytest.MonkeyPatch, folder: Path, script: str, rest: str) -> None:
    """`aplay` as the shell `script` says, first on PATH (then `rest`)."""
    folder.mkdir()
    (folder / "aplay").write_text("#!/bin/sh\n" + script, encoding="utf-8")
    (folder / "aplay").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{rest}")


@needs_aplay
def test_the_doctor_plays_the_tone_on_the_card_it_names(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The technician hears the tone while the doctor runs, and is told to listen for it."""
    received = _device_to_file(tmp_path, monkeypatch)
    # This PC's ALSA lists a card (a CI machine has none); playing is the real aplay's, into the file above.
    card = "card 0: PCH [HDA Intel PCH], device 0: ALC892 Analog [ALC892 Analog]"
    _on_path(monkeypatch, tmp_path / "bin",
             f'if [ "$1" = -l ]; then echo "{card}"; exit 0; fi\nexec {shutil.which("aplay")} "$@"\n',
             os.environ["PATH"])
    result = check_sound(_doctor_config(tmp_path))
    assert result.status is Status.OK
    assert result.message.startswith("the alert tone was played now on card 0: PCH")
    samples = np.frombuffer(received.read_bytes(), "<i2").astype(float)
    assert _loudest_hz(samples[:round(TONE[0][1] * RATE)]) == pytest.approx(TONE[0][0], abs=10)
    assert not (tmp_path / "var").exists()  # the doctor creates no folder


def test_the_doctor_says_when_the_operator_would_hear_nothing(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_sound(_doctor_config(tmp_path, beep=False)).status is Status.OK
    monkeypatch.setenv("PATH", str(tmp_path))  # no aplay
    missing = check_sound(_doctor_config(tmp_path))
    assert missing.status is Status.WARN and "alsa-utils" in missing.fix
    no_card = 'echo "aplay: device_list:274: no soundcards found..." >&2\nexit 1\n'
    _on_path(monkeypatch, tmp_path / "bin", no_card, "/usr/bin:/bin")
    none = check_sound(_doctor_config(tmp_path))
    assert none.status is Status.WARN and none.message.startswith("no sound card found")
