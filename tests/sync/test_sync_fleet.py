"""The fleet, end to end: 20 stations on two site brokers, each bridged to the central broker,
three `station central` receivers in one shared-subscription group writing to PostgreSQL.

Mid-run one receiver is SIGKILLed (and started again, as its service manager would) and one
site broker — the bridge with it — is stopped and started again. Every verdict revision the
stations recorded ends up in PostgreSQL exactly once, and every station's outbox is drained.
Real Mosquitto (bridge configuration from sync.bridge), real PostgreSQL (a throwaway
cluster), real station publishers (`python -m sync.loadgen`), real receivers.

Evidence pictures cross the same bridge with the MQTT v5 user properties central needs to
keep them (their key, verdict_id, camera and sha256)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from station.store import Store
from sync.bridge import BridgeSettings, bridge_config
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.central_evidence import default_images_dir
from sync.evidence import image_key
from sync.fleet_report import fleet_report
from tests.sync.conftest import Probe, sqlite_count, wait_for
from tests.sync.test_sync_images import PREFIX, publisher_for, record, rows

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(400)]

SITES = {"site-01": [f"dock-{n:02d}" for n in range(1, 11)],
         "site-02": [f"dock-{n:02d}" for n in range(11, 21)]}
PER_STATION = 120
TOTAL = PER_STATION * sum(len(s) for s in SITES.values())


def _pg_count(url: str, sql: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row else 0
    except psycopg.errors.UndefinedTable:
        return 0


def _last_json(path: Path) -> dict[str, Any]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def test_fleet_stores_every_revision_once_through_a_receiver_kill_and_a_bridge_restart(
        tmp_path: Path, postgres_url: str) -> None:
    import psycopg

    central = LocalBroker(tmp_path / "central")
    central.start()
    sites: dict[str, LocalBroker] = {}
    for site in SITES:
        bridge = BridgeSettings(site=site, central_host="127.0.0.1", central_port=central.port,
                                restart_timeout=(1, 2))
        sites[site] = LocalBroker(tmp_path / site, extra_config=bridge_config(bridge))
        sites[site].start()
    processes: list[subprocess.Popen[bytes]] = []

    def receiver(n: int) -> subprocess.Popen[bytes]:
        out = (tmp_path / f"central-{n}.jsonl").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "station", "central", "--broker", central.url(), "--db", postgres_url,
             "--group", "fleet", "--client-id", f"central-{n}", "--json", "--stats-interval", "0.5"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        processes.append(process)
        return process

    receivers = {n: receiver(n) for n in (1, 2, 3)}
    for n in receivers:
        log = tmp_path / f"central-{n}.jsonl"
        try:
            wait_for(lambda log=log: _last_json(log).get("connected", False), 60, f"receiver {n} connected")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; its output ends:\n{log.read_text()[-2000:]}") from None
    stations: dict[str, tuple[str, Path, subprocess.Popen[bytes]]] = {}
    for site, names in SITES.items():
        for name in names:
            db = tmp_path / f"{name}.db"
            out = (tmp_path / f"{name}.jsonl").open("wb")
            stations[name] = (site, db, subprocess.Popen(
                [sys.executable, "-m", "sync.loadgen", "--db", str(db), "--host", "127.0.0.1", "--port",
                 str(sites[site].port), "--station-id", name, "--site-id", site, "--count", str(PER_STATION),
                 "--rate", "8", "--ack-timeout", "3", "--drain-timeout", "200", "--seed", name[-2:]],
                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT))
            out.close()
            processes.append(stations[name][2])
    stored = "SELECT COUNT(*) FROM verdicts"
    waiting = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"
    try:
        wait_for(lambda: _pg_count(postgres_url, stored) >= TOTAL // 5, 150, f"{TOTAL // 5} verdicts stored")
        wait_for(lambda: _last_json(tmp_path / "central-1.jsonl").get("stored", 0) > 0, 30,
                 "receiver 1 storing its share")
        receivers[1].send_signal(signal.SIGKILL)  # mid-batch: nothing flushed, nothing acked
        receivers[1].wait(10)
        at_kill = _pg_count(postgres_url, stored)

        wait_for(lambda: _pg_count(postgres_url, stored) >= at_kill + TOTAL // 10, 150,
                 "verdicts stored by the two receivers left")
        sites["site-01"].stop()  # the site broker, and the bridge it runs, go down
        time.sleep(2.0)
        site_01_dbs = [db for site, db, _ in stations.values() if site == "site-01"]
        waited = sum(sqlite_count(db, waiting) for db in site_01_dbs)
        sites["site-01"].start()
        receivers[1] = receiver(1)  # same client id: its session, and what was queued there, comes back

        for name, (_, _, process) in stations.items():
            assert process.wait(250) == 0, f"{name}: {(tmp_path / f'{name}.jsonl').read_text()[-2000:]}"
            assert json.loads((tmp_path / f"{name}.jsonl").read_text().splitlines()[-1])["drained"] is True
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
            if process.poll() is None:
                process.kill()
        for broker in (*sites.values(), central):
            broker.close()

    # The outage was real: site-01's stations kept recording while their broker was down.
    assert waited > 0
    # Every station: everything recorded, everything delivered (acknowledged by central).
    sent: dict[tuple[str, int], str] = {}
    for site, db, _ in stations.values():
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone() == (0,)
        for verdict_id, revision, payload in conn.execute(
                "SELECT verdict_id, revision, payload FROM loadgen_verdicts"):
            assert json.loads(payload)["site_id"] == site
            sent[(verdict_id, revision)] = payload
        conn.close()
    assert len(sent) == TOTAL
    # Central: one row per (verdict_id, revision), none missing, none extra, content intact.
    with psycopg.connect(postgres_url) as conn:
        counts = conn.execute("SELECT verdict_id, revision, COUNT(*) FROM verdicts"
                              " GROUP BY verdict_id, revision").fetchall()
        assert [row for row in counts if row[2] != 1] == []
        assert {(v, r) for v, r, _ in counts} == set(sent)
        rows = conn.execute("SELECT verdict_id, revision, payload, site_id FROM verdicts").fetchall()
        assert all(payload == json.loads(sent[(v, r)]) for v, r, payload, _ in rows)
        by_site = dict(conn.execute("SELECT site_id, COUNT(*) FROM verdicts GROUP BY site_id").fetchall())
        assert by_site == {site: PER_STATION * len(names) for site, names in SITES.items()}
        assert conn.execute("SELECT COUNT(*) FROM rejected").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM conflicts").fetchone() == (0,)
    # The fleet report reads the same database: every station and site, every item once.
    report = fleet_report(postgres_url)
    assert {(f.site_id, f.station_id, f.items) for f in report.stations} == {
        (site, name, PER_STATION) for site, names in SITES.items() for name in names}
    assert {(f.site_id, f.items) for f in report.sites} == {
        (site, PER_STATION * len(names)) for site, names in SITES.items()}
    # All three receivers stored a share (the restarted one's counters start again at zero).
    for n in (2, 3):
        assert _last_json(tmp_path / f"central-{n}.jsonl")["stored"] > 0


def test_evidence_pictures_cross_the_bridge_with_their_user_properties(
        tmp_path: Path, start_receiver: Callable[..., CentralReceiver]) -> None:
    """A picture's key, verdict_id, camera and sha256 travel only as MQTT v5 user properties: the
    bridge must carry them to central, which refuses a picture without them."""
    central = LocalBroker(tmp_path / "central")
    central.start()
    bridge = BridgeSettings(site="site-01", central_host="127.0.0.1", central_port=central.port,
                            restart_timeout=(1, 2))
    site = LocalBroker(tmp_path / "site-01", extra_config=bridge_config(bridge))
    site.start()
    station = Store(tmp_path / "station.db", tmp_path / "images", 90, send_images="all")
    probes: list[Probe] = []
    publisher = None
    try:
        receiver = start_receiver(central)
        probes.append(Probe(central.port, ["returns/v1/site-01/_bridge/state"]))
        wait_for(lambda: [p for _, p, _ in probes[0].messages] == [b"1"], 30, "bridge connected")
        acks = Probe(site.port, [PREFIX + "ack"])
        probes.append(acks)
        verdicts = [record(station, seq) for seq in range(3)]
        publisher = publisher_for(station.path, site)
        drained = publisher.wait_drained(60)
        stats = publisher.stats()
    finally:
        if publisher is not None:
            publisher.stop()
        station.close()
        for p in probes:
            p.close()
        site.close()
        central.close()
    # Nothing refused at central (a picture stripped of its user properties would be, and never acked).
    assert {reason for (reason,) in rows(receiver.db_path, "SELECT reason FROM rejected")} == set()
    assert drained, stats
    expected = {(v.verdict_id, ref.camera): ref.sha256 for v in verdicts for ref in v.inspection.images}
    kept = rows(receiver.db_path, "SELECT verdict_id, camera, station_id, site_id, sha256, path FROM images")
    assert len(kept) == len(expected) == 6
    images_dir = default_images_dir(Path(receiver.db_path))
    for verdict_id, camera, station_id, site_id, sha256, path in kept:
        assert (station_id, site_id) == ("dock-01", "site-01")
        assert expected[(verdict_id, camera)] == sha256
        assert hashlib.sha256((images_dir / path).read_bytes()).hexdigest() == sha256
    # Each picture's ack came back across the bridge with the picture's key.
    acked = {a["key"] for message in acks.json_on(PREFIX + "ack")
             for a in (message if isinstance(message, list) else [message]) if a["key"].startswith("image:")}
    assert acked == {image_key(verdict_id, camera) for verdict_id, camera in expected}
