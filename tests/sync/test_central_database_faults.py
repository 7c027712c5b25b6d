"""What central does when its database misbehaves the way a site's does: PostgreSQL restarted
under a running receiver, a database holding tables of an earlier layout, a picture folder it
cannot write. Each must say what to do, and lose nothing: what is not stored is not
acknowledged, so the stations send it again."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from station.cli import main
from sync import central_evidence, postgres
from sync.broker import LocalBroker
from sync.central import CentralReceiver
from sync.central_evidence import SqliteEvidenceStore
from sync.central_store import PostgresVerdictStore, StoredVerdict
from sync.loadgen import make_verdict, uuid7
from sync.mqtt import BrokerAddress
from tests.sync.conftest import Probe, wait_for


def _verdict(revision: int = 1) -> dict[str, object]:
    return make_verdict("dock-01", "site-01", str(uuid7()), revision, random.Random(7))


def _stored(verdict: dict[str, object]) -> StoredVerdict:
    return StoredVerdict.from_json(verdict, json.dumps(verdict), 0.0)


def _drop_connections(url: str) -> None:
    """What a PostgreSQL restart does to its clients: the server ends every other session."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE pid <> pg_backend_pid() AND datname = current_database()")


def test_the_store_connects_again_after_postgres_dropped_it(postgres_url: str) -> None:
    store = PostgresVerdictStore(postgres_url)
    try:
        assert store.store([_stored(_verdict())], []).new == 1
        _drop_connections(postgres_url)
        with pytest.raises(postgres.DatabaseUnreachableError):
            store.store([_stored(_verdict())], [])  # this transaction is lost, and said to be
        assert store.store([_stored(_verdict())], []).new == 1  # the next one opens a new connection
    finally:
        store.close()


@pytest.mark.broker
def test_receiver_stores_again_after_a_postgres_restart_and_rejects_nothing(
        postgres_url: str, broker: LocalBroker, probe: Callable[[list[str]], Probe],
        caplog: pytest.LogCaptureFixture) -> None:
    import psycopg

    receiver = CentralReceiver(BrokerAddress("127.0.0.1", broker.port), postgres_url)
    receiver.start()
    try:
        assert receiver.wait_subscribed(10)
        sender = probe(["returns/v1/site-01/dock-01/ack"])
        topic = "returns/v1/site-01/dock-01/verdict"
        first = _verdict()
        sender.publish(topic, json.dumps(first))
        wait_for(lambda: receiver.stats().stored == 1, 10, "the first verdict stored")
        _drop_connections(postgres_url)
        with caplog.at_level(logging.INFO, logger="sync.central"):
            second = _verdict()
            sender.publish(topic, json.dumps(second))
            # The receiver's connection is gone: this one fails, is not acknowledged and is sent again.
            wait_for(lambda: receiver.stats().database_error is not None, 10, "the outage noticed")
            sender.publish(topic, json.dumps(second))  # the station's resend
            wait_for(lambda: receiver.stats().stored == 2, 10, "the resent verdict stored")
        stats = receiver.stats()
        assert (stats.invalid, stats.database_error) == (0, None)
        outage = [r.getMessage() for r in caplog.records if "cannot reach the database" in r.getMessage()]
        assert len(outage) == 1
        assert "start the database server or fix --db" in outage[0]
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        receiver.stop()
    with psycopg.connect(postgres_url) as conn:
        ids = {row[0] for row in conn.execute("SELECT verdict_id FROM verdicts").fetchall()}
        assert ids == {first["verdict_id"], second["verdict_id"]}
        assert conn.execute("SELECT COUNT(*) FROM rejected").fetchone() == (0,)


def test_a_database_of_an_older_layout_is_refused_at_start_saying_what_to_do(
        postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE verdicts(verdict_id TEXT NOT NULL, revision INTEGER NOT NULL,"
                     " station_id TEXT NOT NULL, site_id TEXT NOT NULL, grade TEXT NOT NULL,"
                     " disposition TEXT NOT NULL, decided_at TEXT NOT NULL, payload TEXT NOT NULL,"
                     " received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (verdict_id, revision))")
    with pytest.raises(postgres.OlderLayoutError, match="session, seq"):
        PostgresVerdictStore(postgres_url)
    code = main(["central", "--broker", "mqtt://127.0.0.1:1", "--db", postgres_url])
    out = capsys.readouterr().out
    assert code == 1
    assert "older layout" in out and "ALTER TABLE verdicts RENAME TO verdicts_old" in out
    assert "check --db (host" not in out  # not a login problem


def test_a_picture_folder_central_cannot_write_stops_it_at_start(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the picture folder should be")
    with pytest.raises(central_evidence.ImagesDirError, match="cannot write the picture folder"):
        SqliteEvidenceStore(tmp_path / "central.db", blocker / "images")
    code = main(["central", "--broker", "mqtt://127.0.0.1:1", "--db", str(tmp_path / "central.db"),
                 "--images-dir", str(blocker / "images")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"cannot write the picture folder {blocker / 'images'}" in out
    assert "--images-dir" in out and "cannot open the database" not in out


@pytest.mark.broker
def test_a_picture_that_cannot_be_written_says_what_to_do_and_is_not_acknowledged(
        tmp_path: Path, broker: LocalBroker, start_receiver: Callable[..., CentralReceiver],
        probe: Callable[[list[str]], Probe], caplog: pytest.LogCaptureFixture) -> None:
    import hashlib

    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    images = tmp_path / "pictures"
    receiver = start_receiver(broker, images_dir=images)
    if images.is_dir():  # the folder checked at start, then gone: its disk unmounted, say
        images.rmdir()
    images.write_text("a file where the picture folder was")
    sender = probe(["returns/v1/site-01/dock-01/ack"])
    verdict = _verdict()
    sender.publish("returns/v1/site-01/dock-01/verdict", json.dumps(verdict))
    wait_for(lambda: receiver.stats().stored == 1, 10, "the verdict stored")
    jpeg = b"\xff\xd8picture\xff\xd9"
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = [("key", f"image:{verdict['verdict_id']}:top"),
                               ("verdict_id", str(verdict["verdict_id"])), ("camera", "top"),
                               ("sha256", hashlib.sha256(jpeg).hexdigest()), ("content_type", "image/jpeg")]
    with caplog.at_level(logging.ERROR, logger="sync.central"):
        sender.client.publish("returns/v1/site-01/dock-01/image", jpeg, qos=1,
                              properties=properties).wait_for_publish(10)
        wait_for(lambda: any("cannot keep" in r.getMessage() for r in caplog.records), 10, "the failure")
    message = next(r.getMessage() for r in caplog.records if "cannot keep" in r.getMessage())
    assert f"make {images} writable" in message and "send them again" in message
    acks = [ack for body in sender.json_on("returns/v1/site-01/dock-01/ack")
            for ack in (body if isinstance(body, list) else [body])]
    assert not [ack for ack in acks if str(ack.get("key", "")).startswith("image:")]
    assert receiver.stats().images_stored == 0


@pytest.mark.parametrize("db", ["postgresql:/central:hunter22@db/returns", "postgressql://central:hunter22@db/r"])
@pytest.mark.parametrize("command", [["central", "--broker", "mqtt://127.0.0.1:1"], ["central", "report"],
                                     ["central", "image", "--out", "-", "v", "top"]],
                         ids=["receiver", "report", "image"])
def test_a_mistyped_database_url_is_refused_without_showing_its_password(
        db: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--db", db]) == 2
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert "hunter22" not in said
    assert "is neither a postgresql:// URL nor a SQLite file" in said
    assert "postgresql://user@host:5432" in said
