"""The bridge section `station central bridge-config` writes: each site topic one way, QoS 1,
persistent sessions, TLS when asked; bad options refused with the reason. (The bridge at work,
through broker restarts, is tests/sync/test_sync_fleet.py.)"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sync.bridge import BridgeSettings, bridge_config


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
