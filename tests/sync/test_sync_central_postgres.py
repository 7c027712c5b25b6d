"""`station central` storing into PostgreSQL (a throwaway local cluster): each verdict
revision once, rejected messages kept aside. Skipped where PostgreSQL or psycopg is absent."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.broker import LocalBroker, free_port
from sync.central import CentralReceiver
from sync.loadgen import make_verdict, uuid7
from sync.mqtt import BrokerAddress
from tests.sync.conftest import Probe, wait_for

pytestmark = pytest.mark.broker


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("needs PostgreSQL (initdb, pg_ctl)")
    # PostgreSQL refuses to run as root: run it as the postgres user then.
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="central-pg-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    port = free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_central_dedupes_into_postgres(postgres_url: str, broker: LocalBroker,
                                       probe: Callable[[list[str]], Probe]) -> None:
    import psycopg

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), postgres_url)
    receiver.start()
    try:
        wait_for(lambda: receiver.stats().connected, 10, "central connected")
        sender = probe(["returns/v1/site-01/dock-01/ack"])
        verdict = make_verdict("dock-01", "site-01", str(uuid7()), 1, random.Random(1))
        topic = "returns/v1/site-01/dock-01/verdict"
        for body in (verdict, verdict, {**verdict, "revision": 2}, {**verdict, "seq": -1}):
            sender.publish(topic, json.dumps(body))
        def handled() -> int:
            stats = receiver.stats()
            return stats.stored + stats.duplicates + stats.invalid

        wait_for(lambda: handled() == 4, 10, "4 messages stored, counted as repeats or rejected")
        stats = receiver.stats()
        assert (stats.stored, stats.duplicates, stats.invalid) == (2, 1, 1)
        wait_for(lambda: len(sender.json_on("returns/v1/site-01/dock-01/ack")) >= 1, 10, "acks")
    finally:
        receiver.stop()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT verdict_id, revision, payload->>'station_id' FROM verdicts"
                            " ORDER BY revision").fetchall()
        assert rows == [(verdict["verdict_id"], 1, "dock-01"), (verdict["verdict_id"], 2, "dock-01")]
        assert conn.execute("SELECT COUNT(*) FROM rejected").fetchone() == (1,)
