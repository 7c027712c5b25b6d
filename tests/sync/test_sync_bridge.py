"""The bridge section `station central bridge-config` writes: each site topic one way, QoS 1,
persistent sessions, TLS when asked; bad options refused with the reason. (The bridge at work,
through broker restarts, is tests/sync/test_sync_fleet.py.)"""

from __future__ import annotations

import contextlib
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.bridge import BridgeSettings, bridge_acl, bridge_config
from sync.broker import LocalBroker, free_port
from tests.sync.conftest import wait_for


def _options(text: str) -> list[tuple[str, str]]:
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")]


def test_site_topics_go_one_way_each_with_persistent_sessions() -> None:
    options = _options(bridge_config(BridgeSettings(site="site-07", central_host="central.example",
                                                    central_port=8883)))
    assert options[0] == ("connection", "returns-site-07")
    assert ("address", "central.example:8883") in options
    assert ("cleansession", "false") in options and ("local_cleansession", "false") in options
    assert ("remote_clientid", "returns-site-07") in options
    topics = {value.split()[0]: value.split()[1:] for key, value in options if key == "topic"}
    assert all(rest[1] == "1" for rest in topics.values())
    out = {t for t, rest in topics.items() if rest[0] == "out"}
    inbound = {t for t, rest in topics.items() if rest[0] == "in"}
    prefix = "returns/v1/site-07/+/"
    assert {prefix + t for t in ("verdict", "status", "stats", "reply", "image/#", "purge/#")} == out
    assert {prefix + t for t in ("ack", "manifest", "config/#", "model/#", "cmd/#")} == inbound
    assert not any(key.startswith("bridge_") and key != "bridge_protocol_version" for key, _ in options)


def test_tls_and_login_options() -> None:
    text = bridge_config(BridgeSettings(site="site-01", central_host="c", central_port=8883,
                                        username="bridge-site-01", password="s3cret", ca_file=Path("/ca.pem"),
                                        cert_file=Path("/b.crt"), key_file=Path("/b.key")))
    options = dict(_options(text))
    assert options["remote_username"] == "bridge-site-01" and options["remote_password"] == "s3cret"
    assert options["bridge_cafile"] == "/ca.pem" and options["bridge_insecure"] == "false"
    assert (options["bridge_certfile"], options["bridge_keyfile"]) == ("/b.crt", "/b.key")


@pytest.mark.parametrize(("changes", "words"), [
    ({"site": "site 01"}, "site"),
    ({"site": "+"}, "site"),
    ({"central_port": 0}, "port"),
    ({"prefix": "returns/v1"}, "prefix"),
    ({"cert_file": Path("/b.crt")}, "both"),
    ({"password": "x"}, "user name"),
])
def test_bad_settings_are_refused_with_the_reason(changes: dict[str, object], words: str) -> None:
    values: dict[str, object] = {"site": "site-01", "central_host": "c", **changes}
    with pytest.raises(ValueError, match=words):
        BridgeSettings(**values)  # type: ignore[arg-type]


def test_command_writes_a_private_file_and_refuses_a_bad_address(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    out = tmp_path / "bridge.conf"
    done = subprocess.run([sys.executable, "-m", "station", "central", "bridge-config", "--site", "site-01",
                           "--central", "central.example:8883", "--username", "bridge-site-01",
                           "--password-file", str(secret), "--output", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "remote_password s3cret" in out.read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "station", "central", "bridge-config", "--site", "site-01",
                          "--central", "central.example"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stdout


class _Client:
    """A paho client that records what arrives on its subscriptions."""

    def __init__(self, port: int, topics: list[str], username: str | None = None,
                 password: str | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{time.time_ns()}",
                                  protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, bytes(m.payload), bool(m.retain)))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if topics:
            self.client.subscribe([(t, 1) for t in topics])
            assert subscribed.wait(10)

    def on(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in list(self.messages) if t == topic]

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.broker
def test_bridge_logs_in_and_its_acl_keeps_it_to_its_site(tmp_path: Path) -> None:
    """Central with passwords and the shipped ACL plus the bridge's entry: the site's verdicts go
    out and acks come in; another site's topics cross in neither direction."""
    settings = BridgeSettings(site="site-01", central_host="127.0.0.1", central_port=free_port(),
                              username="bridge-site-01", password="b-secret", restart_timeout=(1, 2))
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.touch()
    for user, password in (("central", "c-secret"), ("bridge-site-01", "b-secret")):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    acl.write_text((Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "acl").read_text()
                   + "\n" + bridge_acl(settings), encoding="utf-8")
    central = LocalBroker(tmp_path / "central", port=settings.central_port, password_file=passwd,
                          acl_file=acl)
    site = LocalBroker(tmp_path / "site", extra_config=bridge_config(settings))
    clients: list[_Client] = []
    try:
        central.start()
        site.start()
        at_central = _Client(central.port, ["returns/v1/+/+/verdict", "returns/v1/site-01/_bridge/state"],
                             "central", "c-secret")
        at_site = _Client(site.port, ["returns/v1/+/+/ack", "returns/v1/+/+/verdict"])
        clients += [at_central, at_site]
        wait_for(lambda: at_central.on("returns/v1/site-01/_bridge/state") == [b"1"], 30, "bridge connected")
        at_site.publish("returns/v1/site-02/dock-09/verdict", b"other site")
        at_site.publish("returns/v1/site-01/dock-01/verdict", b"v1")
        wait_for(lambda: at_central.on("returns/v1/site-01/dock-01/verdict") == [b"v1"], 30, "verdict out")
        at_central.publish("returns/v1/site-02/dock-09/ack", b"other site")
        # A verdict forged at central is refused by the ACL; the broker may answer that by dropping the
        # forger's connection, so it comes from a client of its own.
        forger = _Client(central.port, [], "central", "c-secret")
        clients.append(forger)
        with contextlib.suppress(RuntimeError):
            forger.publish("returns/v1/site-01/dock-01/verdict", b"forged at central")
        at_central.publish("returns/v1/site-01/dock-01/ack", b"a1")
        wait_for(lambda: at_site.on("returns/v1/site-01/dock-01/ack") == [b"a1"], 30, "ack in")
        time.sleep(1.0)  # anything that would wrongly cross has had the time to
        assert at_central.on("returns/v1/site-02/dock-09/verdict") == []
        assert at_site.on("returns/v1/site-02/dock-09/ack") == []
        assert at_site.on("returns/v1/site-01/dock-01/verdict") == [b"v1"]  # verdicts never come back in
    finally:
        for client in clients:
            client.close()
        site.close()
        central.close()


def test_shipped_example_is_what_the_command_writes() -> None:
    """docs/mosquitto/bridge.conf stays the generator's output (its password a placeholder)."""
    shipped = (Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "bridge.conf").read_text()
    settings = BridgeSettings(site="site-01", central_host="central.example", central_port=8883,
                              username="bridge-site-01", password="CHANGE-ME",
                              ca_file=Path("/etc/mosquitto/certs/central-ca.pem"),
                              cert_file=Path("/etc/mosquitto/certs/bridge.crt"),
                              key_file=Path("/etc/mosquitto/certs/bridge.key"))
    assert _options(shipped) == _options(bridge_config(settings))
