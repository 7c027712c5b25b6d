"""`station central` as an operator runs it: JSON stats lines, a clean stop on Ctrl-C, and a
clear refusal of a bad broker URL."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.loadgen import make_verdict, uuid7
from tests.sync.conftest import Probe, wait_for


def test_bad_broker_url_is_refused_with_the_fix(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "station", "central", "--broker", "ftp://host", "--db",
                           str(tmp_path / "c.db")], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "mqtt://" in done.stdout


@pytest.mark.broker
def test_json_stats_and_clean_stop_on_ctrl_c(tmp_path: Path, broker: LocalBroker) -> None:
    central = subprocess.Popen(
        [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db", str(tmp_path / "c.db"),
         "--json", "--stats-interval", "0.2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert central.stdout is not None
        first = json.loads(central.stdout.readline())
        assert {"received", "stored", "duplicates", "invalid", "acked", "connected"} <= set(first)
        sender = Probe(broker.port, ["returns/v1/site-01/dock-01/ack"])
        try:
            wait_for(lambda: json.loads(central.stdout.readline())["connected"], 20, "central connected")
            verdict = make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(1))
            sender.publish("returns/v1/site-01/dock-01/verdict", json.dumps(verdict))
            wait_for(lambda: bool(sender.json_on("returns/v1/site-01/dock-01/ack")), 20, "ack")
        finally:
            sender.close()
    except BaseException:
        central.kill()
        raise
    final = _interrupt(central)
    assert final["final"] is True and final["stored"] == 1


def _interrupt(central: subprocess.Popen[str]) -> dict[str, object]:
    """Ctrl-C: central must exit 0 within 30 s; returns its last (final) stats line."""
    central.send_signal(signal.SIGINT)
    try:
        out, _ = central.communicate(timeout=30)
    finally:
        if central.poll() is None:
            central.kill()
    assert central.returncode == 0
    final: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return final


@pytest.mark.broker
def test_sigint_stops_it_even_when_started_with_sigint_ignored(tmp_path: Path, broker: LocalBroker) -> None:
    # A non-interactive shell starts background jobs with SIGINT ignored, and a service
    # manager may too; Ctrl-C / kill -INT must still stop central cleanly.
    command = [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db",
               str(tmp_path / "c.db"), "--json", "--stats-interval", "0.2"]
    ignoring = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                "os.execv(sys.executable, sys.argv[1:])")  # an ignored signal stays ignored across exec
    central = subprocess.Popen([sys.executable, "-c", ignoring, *command], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert central.stdout is not None
        json.loads(central.stdout.readline())  # running
    except BaseException:
        central.kill()
        raise
    final = _interrupt(central)
    assert final["final"] is True
