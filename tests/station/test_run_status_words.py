"""`station run --headless` speaks [ui].language: the status line and the summary at the stop are in the
operator's words, while `--json` and the `station stopped: {...}` line keep their English keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from station.commands.run import _status_line, _summary_words
from station.state import Health, Level

STATS = {"items": 42, "items_per_hour": 1260.5, "latency_ms_p50": 18.5, "late": 1, "misrouted": 0,
         "lost": 2, "outbox_backlog": 3}


def test_the_status_line_reads_as_before_in_english_and_in_french_words() -> None:
    fine = {"disk": Health("disk", Level.OK, "disk 5.0 GB free")}
    assert _status_line(STATS, fine) == (
        "items     42  1260.5/h  p50   18.5 ms  late 1  misrouted 0  lost 2  outbox 3  | all OK")
    assert _status_line(STATS, fine, "fr") == (
        "articles     42  1260,5/h  p50   18,5 ms  en retard 1  mal aiguillés 0  perdus 2  à envoyer 3  "
        "| tout va bien")
    down = {"mqtt": Health("mqtt", Level.WARNING, "MQTT coupé, 3 verdicts en attente")}
    assert _status_line({**STATS, "latency_ms_p50": None}, down, "fr").endswith(
        "p50      - ms  en retard 1  mal aiguillés 0  perdus 2  à envoyer 3  "
        "| MQTT coupé, 3 verdicts en attente")


def test_the_summary_words_follow_the_language() -> None:
    summary = {"items": 20, "confirmed": 5, "late": 0, "misrouted": 0, "lost": 0, "overloaded": 1,
               "disk_full": 0, "unrecorded": 0, "record_errors": 0, "latency_ms_p50": 17.0,
               "latency_ms_p95": None, "outbox_backlog": 0, "image_backlog": 2}
    # Pictures wait behind the verdicts, and a drain at stop waits for verdicts only: both are said.
    assert _summary_words(summary, "en").endswith("waiting for central 0, and 2 pictures.")
    # "confirmed" counts the items the controller reported in their lane, not operators' confirms.
    assert _summary_words(summary, "en").startswith(
        "Station stopped: 20 items recorded (5 seen in their lane by the controller)")
    french = _summary_words(summary, "fr")
    assert french.startswith("Poste arrêté : 20 articles enregistrés (5 vus dans leur voie par l'automate)")
    assert "p50 17,0 ms, p95 - ms" in french


def test_a_french_headless_run_prints_french_words_and_keeps_the_json_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[station]\ndata_dir = "data"\n[sync]\nbroker = ""\n[ui]\nlog_status_every_s = 0.5\n',
                      encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "station", "--config", str(config), "run", "--headless", "--lang", "fr",
         "--items", "20", "--rate", "10"],
        cwd=tmp_path, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    status = [line for line in lines if " état : articles " in line]
    assert status, done.stderr[-3000:]
    assert all(" status: " not in line and "misrouted" not in line for line in status)
    words = [line for line in lines if line.startswith("Poste arrêté : ")]
    assert len(words) == 1 and "articles enregistrés" in words[0]
    summary = json.loads(lines[-1].removeprefix("station stopped: "))
    assert summary["items"] >= 20 and "outbox_backlog" in summary and "image_backlog" in summary
