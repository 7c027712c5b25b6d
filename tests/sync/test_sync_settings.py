"""`SyncSettings` is the [sync] section as config.toml holds it: its checks name the key at fault,
relative file paths are made absolute against the config's folder, and the station's identity
(ids, session) travels apart from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import ConfigError, load_config
from sync.publisher import OutboxPublisher
from sync.settings import StationIdentity, SyncSettings, SyncSettingsError


@pytest.mark.parametrize(("values", "key"), [
    ({"topic_prefix": "returns/v1/site-01"}, "topic_prefix"),
    ({"topic_prefix": "returns/+/"}, "topic_prefix"),
    ({"inflight_window": 0}, "inflight_window"),
    ({"ack_timeout_s": 0.0}, "ack_timeout_s"),
])
def test_a_bad_value_names_its_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(SyncSettingsError) as caught:
        SyncSettings(**values)  # type: ignore[arg-type]
    assert caught.value.key == key
    assert key in str(caught.value)


def test_the_config_loader_reports_a_bad_topic_prefix_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[sync]\nbroker = ""\ntopic_prefix = "returns/#/"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert (caught.value.key, caught.value.line) == ("sync.topic_prefix", 3)
    assert "topic_prefix" in caught.value.fix


def test_the_config_holds_the_section_as_written_with_empty_paths_as_none(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.pem").write_text("a CA certificate\n", encoding="utf-8")  # tls: it must exist
    path = tmp_path / "config.toml"
    path.write_text('[sync]\nbroker = "central.example"\nport = 8883\ntls = true\nca_file = "pki/ca.pem"\n'
                    'cert_file = ""\npoll_interval_s = 0.5\nmodel_url_allow = ["https://central.example/m/"]\n',
                    encoding="utf-8")
    settings = load_config(path, env={}).sync
    assert settings == SyncSettings(broker="central.example", port=8883, tls=True, ca_file=Path("pki/ca.pem"),
                                    poll_interval_s=0.5, model_url_allow=("https://central.example/m/",))


def test_resolved_makes_file_paths_absolute_against_the_config_folder(tmp_path: Path) -> None:
    settings = SyncSettings(ca_file=Path("pki/ca.pem"), cert_file=Path("/etc/station/cert.pem"),
                            key_file=None, trusted_key_file=Path("~/release.pub"))
    resolved = settings.resolved(tmp_path)
    assert resolved.ca_file == tmp_path / "pki" / "ca.pem"
    assert resolved.cert_file == Path("/etc/station/cert.pem")
    assert resolved.key_file is None
    assert resolved.trusted_key_file == Path.home() / "release.pub"
    # the model store is relative to the data folder, which the station resolves itself
    assert resolved.model_store_dir == Path("central-models")
    assert settings.ca_file == Path("pki/ca.pem")  # a copy: the settings themselves stay as loaded


def test_topics_come_from_the_identity_unless_the_prefix_is_set() -> None:
    identity = StationIdentity(station_id="dock-07", site_id="site-3")
    assert SyncSettings().topics(identity).verdict == "returns/v1/site-3/dock-07/verdict"
    assert SyncSettings(topic_prefix="lab/a/").topics(identity).ack == "lab/a/ack"
    assert identity.client_id == "station-site-3-dock-07"


def test_an_identity_unusable_in_a_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="station_id"):
        StationIdentity(station_id="dock/01")


def test_the_publisher_needs_a_started_broker_not_auto(tmp_path: Path) -> None:
    publisher = OutboxPublisher(tmp_path / "station.db", SyncSettings(broker="auto"), StationIdentity())
    with pytest.raises(ValueError, match="auto"):
        publisher.start()
