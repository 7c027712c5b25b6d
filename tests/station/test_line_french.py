"""A French station on the demo line: its status lines are French from the first second, and its
verdicts carry English reasons for central with codes that read back in French."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from station.app import RunOptions, Station
from station.commands.run import with_language
from station.config import load_config
from station.i18n import render_reasons
from station.verdict import Verdict

pytestmark = pytest.mark.slow


def test_a_french_line_speaks_french_and_central_still_gets_english(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n[sync]\nbroker = ""\n', encoding="utf-8")
    config = with_language(load_config(path, env={}), "fr")  # as `station run --lang fr`
    station = Station(config, RunOptions(items=6, sim_speed_m_s=2.0, sim_spacing_m=1.0, headless=True))
    station.start()
    try:
        assert station.wait_items(6, timeout_s=120), station.stats()
        station.monitor.look()
        health = station.state.health()
    finally:
        station.stop()
    assert health["calibration"].summary == "caméra de démonstration : pas d'étalonnage nécessaire"
    assert health["conveyor"].summary == "convoyeur en marche"
    assert health["mqtt"].summary == "aucun serveur MQTT configuré"
    assert health["disk"].summary.startswith("disque : ") and "Go libres" in health["disk"].summary
    assert health["camera:top"].summary == "caméra dessus en marche"
    assert health["models"].summary.startswith("modèles : ")
    with sqlite3.connect(config.in_data_dir(config.storage.db_path)) as conn:
        payloads = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM verdicts WHERE revision = 1")]
    assert len(payloads) == 6
    for payload in payloads:
        verdict = Verdict.from_json(payload)
        reasons = verdict.decision.reasons
        assert len(payload["decision"]["reason_codes"]) == len(reasons)
        french = render_reasons(verdict.decision, "fr")
        assert len(french) == len(reasons) and french != reasons
