"""The demo line's local broker (`[sync] broker = "auto"`) takes the station and its local central only:
it listens on 127.0.0.1, where any user of the PC could otherwise read every verdict and send the station
thresholds, manifests and model actions as central would."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from sync.broker import DEMO_USER, LocalBroker, demo_credentials, find_mosquitto

pytestmark = [pytest.mark.broker,
              pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")]


def _login(broker: LocalBroker, user: str | None, password: str | None) -> int:
    """The CONNACK's reason code value (0: accepted) for a client logging in as `user`."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}", protocol=mqtt.MQTTv5)
    if user is not None:
        client.username_pw_set(user, password)
    codes: list[int] = []
    answered = threading.Event()

    def on_connect(_client: object, _userdata: object, _flags: object, reason: ReasonCode,
                   _properties: object) -> None:
        codes.append(reason.value)
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert answered.wait(10), "no CONNACK within 10 s"
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


def test_only_the_demo_user_logs_in_and_its_password_stays(tmp_path: Path) -> None:
    folder = tmp_path / "mosquitto"
    user, password, passwd = demo_credentials(folder)
    assert user == DEMO_USER and len(password) >= 24
    assert stat.S_IMODE((folder / "demo-password").stat().st_mode) == 0o600
    assert demo_credentials(folder)[1] == password  # the same at the next start
    with LocalBroker(folder, password_file=passwd) as broker:
        assert _login(broker, None, None) != 0  # anonymous: refused
        assert _login(broker, DEMO_USER, "guess") != 0
        assert _login(broker, user, password) == 0
