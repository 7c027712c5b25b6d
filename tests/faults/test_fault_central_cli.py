"""`station central` keeps the broker password off its command line, where every user of the
PC reads it in `ps`: a URL carrying one is refused, the password comes from a file or the
environment instead. Real `station central` processes against a real Mosquitto with passwords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.broker

ACL = Path(__file__).resolve().parents[2] / "docs" / "mosquitto" / "acl"


def _central(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "station", "central", *args,
                             "--db", str(tmp_path / "c.db"), "--json", "--stats-interval", "0.2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def test_fault_central_password_in_broker_url_is_refused(tmp_path: Path, broker: LocalBroker) -> None:
    central = _central(["--broker", f"mqtt://central:hunter2@127.0.0.1:{broker.port}"], tmp_path)
    try:
        out, err = central.communicate(timeout=30)
    finally:
        if central.poll() is None:
            central.kill()
            central.communicate()
    assert central.returncode == 2
    assert "password" in out and "--password-file" in out and "STATION_MQTT_PASSWORD" in out
    assert "Traceback" not in out + err


@pytest.mark.parametrize("how", ["file", "env"])
def test_fault_central_password_from_file_or_environment(tmp_path: Path, how: str) -> None:
    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "central", "c-secret"], check=True)
    secret = tmp_path / "central.password"
    secret.write_text("c-secret\n")
    with LocalBroker(tmp_path / "broker", password_file=passwd, acl_file=ACL) as broker:
        url = f"mqtt://central@127.0.0.1:{broker.port}"
        central = (_central(["--broker", url, "--password-file", str(secret)], tmp_path) if how == "file"
                   else _central(["--broker", url], tmp_path, env={"STATION_MQTT_PASSWORD": "c-secret"}))
        try:
            assert central.stdout is not None
            wait_for(lambda: json.loads(central.stdout.readline())["connected"], 20, "central connected")
        finally:
            central.kill()
            central.communicate()
