"""TLS asked for by its certificate files but not switched on must not become plain text in silence:
the station's config and `station central` refuse it, saying which switch is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.cli import main
from station.config import ConfigError, load_config


def test_a_config_with_certificates_but_tls_off_is_refused_on_the_certificates_line(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("a CA\n", encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text('[sync]\nbroker = "broker.site"\npassword = "s3cret"\nca_file = "ca.pem"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})
    assert refused.value.line == 4 and "tls = false" in refused.value.problem
    assert "set tls = true" in refused.value.problem and "s3cret" not in str(refused.value)
    # The same files with TLS on, or a local demo broker, are what they were.
    path.write_text('[sync]\nbroker = "broker.site"\ntls = true\nca_file = "ca.pem"\n', encoding="utf-8")
    assert load_config(path, env={}).sync.tls
    path.write_text('[sync]\nbroker = "auto"\nca_file = "ca.pem"\n', encoding="utf-8")
    assert load_config(path, env={}).sync.ca_file == Path("ca.pem")


def test_central_refuses_certificates_with_a_plain_mqtt_url(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("a CA\n", encoding="utf-8")
    db = tmp_path / "central.db"
    assert main(["central", "--broker", "mqtt://127.0.0.1:1", "--db", str(db), "--ca", str(ca)]) == 2
    out = capsys.readouterr().out
    assert "--ca given, but --broker is not an mqtts:// URL" in out and "mqtts://host:8883" in out
    assert not db.exists()  # refused before anything was opened
