"""The operator's alert: a tone played through the sound card, heard over a dock's noise.

The desktop's bell (`QApplication.beep`) is what a window has without this, and on most PCs it
is nothing at all: an X server without a bell module, a sound server that ignores it, a PC
speaker that is not fitted. The station instead writes a short two-note tone once
(`<data_dir>/alert.wav`) and plays it with ALSA's `aplay` (Debian's `alsa-utils`), which goes to
the default device: the sound server on a desktop (PulseAudio / PipeWire through their ALSA
plugin) or the sound card itself. `station doctor` says when the PC has no sound card.

Playing never blocks the window: the player runs on its own, and a tone still playing when the
next alert comes is not started again (the window already merges bursts). A player that fails
(no device, device busy) is named in the log once, with what it said.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

__all__ = ["RATE", "TONE", "AlertSound", "sound_cards", "write_tone"]

logger = logging.getLogger(__name__)

RATE = 44_100  # samples per second, mono 16-bit: what every card and sound server plays
# Two notes, high then higher, each (frequency Hz, seconds), with a short gap: an alert, not a tune.
TONE = ((880.0, 0.16), (0.0, 0.06), (1175.0, 0.22))
VOLUME = 0.7  # of full scale: loud on a quiet card, clean on a loud one
FADE_S = 0.01  # each note's edges, so the speaker does not click


def write_tone(path: Path, notes: tuple[tuple[float, float], ...] = TONE) -> Path:
    """Write `notes` as a mono 16-bit WAV at RATE; `path` is replaced whole (written beside, renamed)."""
    frames = bytearray()
    for hz, seconds in notes:
        count = round(seconds * RATE)
        fade = max(1, round(FADE_S * RATE))
        for i in range(count):
            envelope = min(1.0, i / fade, (count - 1 - i) / fade)
            value = VOLUME * envelope * math.sin(2 * math.pi * hz * i / RATE) if hz else 0.0
            frames += struct.pack("<h", round(value * 32767))
    partial = path.with_name(path.name + ".partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    partial.replace(path)
    return path


def sound_cards(aplay: str | None = None) -> list[str] | None:
    """The playback cards ALSA sees (`aplay -l`), one line each; None without `aplay`."""
    player = aplay or shutil.which("aplay")
    if player is None:
        return None
    try:
        listed = subprocess.run([player, "-l"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.startswith("card ")]


class AlertSound:
    """Plays the alert tone with `aplay`, never waiting for it."""

    def __init__(self, wav: Path, aplay: str) -> None:
        self.wav = wav
        self.aplay = aplay
        self._playing: subprocess.Popen[bytes] | None = None
        self._failed_said = False
        self.played = 0  # tones started since start

    @classmethod
    def find(cls, data_dir: Path) -> AlertSound | None:
        """The alert for this PC: None without `aplay` (the window falls back to the desktop's bell) or
        when the tone cannot be written into `data_dir` (said in the log)."""
        aplay = shutil.which("aplay")
        if aplay is None:
            logger.warning("alert sound: aplay not found, the window uses the desktop's bell, which many PCs "
                           "do not sound: install Debian's alsa-utils")
            return None
        try:
            wav = write_tone(data_dir / "alert.wav")
        except OSError as exc:
            logger.warning("alert sound: cannot write %s (%s): the window uses the desktop's bell",
                           data_dir / "alert.wav", exc)
            return None
        return cls(wav, aplay)

    def play(self) -> None:
        """Start the tone, unless the last one is still playing."""
        if self._playing is not None:
            if self._playing.poll() is None:
                return
            self._finished(self._playing)
        try:
            self._playing = subprocess.Popen([self.aplay, "-q", str(self.wav)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as exc:
            self._say_failed(str(exc))
            return
        self.played += 1

    def wait(self, timeout: float = 10.0) -> int | None:
        """Until the tone being played ends (tests, shutdown); its player's exit status, None if none."""
        if self._playing is None:
            return None
        try:
            self._playing.wait(timeout)
        except subprocess.TimeoutExpired:
            self._playing.kill()
            self._playing.wait()
        self._finished(self._playing)
        code = self._playing.returncode
        self._playing = None
        return code

    def _finished(self, player: subprocess.Popen[bytes]) -> None:
        said = player.stderr.read().decode(errors="replace") if player.stderr is not None else ""
        if player.stderr is not None:
            player.stderr.close()
        if player.returncode:
            self._say_failed(" ".join(said.split()) or f"exit status {player.returncode}")

    def _say_failed(self, why: str) -> None:
        if not self._failed_said:
            self._failed_said = True
            logger.warning("alert sound: aplay could not play the alert (%s): the operator hears nothing. "
                           "Check the PC's sound card and volume (`aplay -l`, `alsamixer`, `station doctor`)",
                           why)
