"""The Settings page's text: the defaults written out read back the same, and no secret shows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from station.config import Config, load_config
from station.config_text import HIDDEN, as_toml, redacted, shown_config

ROOT = Path(__file__).resolve().parents[1]


def sections(config: Config) -> dict[str, object]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)
            if f.name not in ("source", "base_dir")}


def read_back(text: str, tmp_path: Path) -> Config:
    path = tmp_path / "written.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={})


def test_the_embedded_defaults_written_out_read_back_the_same(tmp_path: Path) -> None:
    defaults = load_config(None, env={})
    assert sections(read_back(as_toml(defaults), tmp_path)) == sections(defaults)


def test_a_sites_settings_written_out_read_back_the_same(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[station]\nid = "dock-07"\nmode = "bench"\n'
        '[camera]\nroi = [10, 20, 300, 200]\ncalibration = "cal/top.toml"\n'
        '[cameras.side]\nsource = "gige"\ndevice = "Aravis-Fake-GV01"\nchecks = ["defect"]\n'
        '[hardware]\ncontroller = "modbus"\nport = "/dev/ttyUSB0"\n'
        '[hardware.lanes]\nmanual = 0\nrestock = 1\nrepair = 2\nrecycle = 3\nquarantine = 4\n'
        '"spare lane" = 5\n'
        '[hardware.modbus]\ntransport = "tcp"\nport = "10.0.0.5:502"\n'
        '[sync]\nusername = "dock-07"\npassword = "s3cret \\"quoted\\""\n'
        '[ui]\nsupervisor_pin = "2468"\nlanguage = "fr"\n',
        encoding="utf-8",
    )
    config = load_config(site, env={})
    assert sections(read_back(as_toml(config), tmp_path)) == sections(config)


def test_the_shipped_file_written_out_reads_back_the_same(tmp_path: Path) -> None:
    shipped = load_config(ROOT / "config.toml", env={})
    assert sections(read_back(as_toml(shipped), tmp_path)) == sections(shipped)


def test_secrets_are_hidden_and_the_rest_is_kept() -> None:
    text = ('[sync]\nusername = "dock-07"\npassword = "s3cret"   # the broker\'s\n'
            "[ui]\nsupervisor_pin = '2468'\n"
            'language = "fr"\n'
            "[extra]\nbroker = { api_token = 1234, host = \"central\" }\n"
            'site_secret="x=y"\n')
    shown = redacted(text)
    for secret in ("s3cret", "2468", "1234", "x=y"):
        assert secret not in shown
    assert f"password = {HIDDEN}   # the broker's" in shown
    assert f"supervisor_pin = {HIDDEN}" in shown
    assert f"api_token = {HIDDEN}, host = \"central\"" in shown
    assert 'username = "dock-07"' in shown and 'language = "fr"' in shown


def test_a_camera_streams_password_is_hidden_and_its_address_kept() -> None:
    shown = redacted('[cameras.gate]\nsource = "stream"\ndevice = "rtsp://dock:p@ss-w0rd@10.0.0.9:554/h264"\n'
                     '[cameras.side]\ndevice = "rtsp://10.0.0.8/h264"\n')
    assert "p@ss-w0rd" not in shown
    assert 'device = "rtsp://dock:••••••@10.0.0.9:554/h264"' in shown
    assert 'device = "rtsp://10.0.0.8/h264"' in shown  # no password: nothing changed


def test_a_secret_not_set_reads_as_not_set() -> None:
    assert redacted('password = ""\nsupervisor_pin = \'\'\n') == 'password = ""\nsupervisor_pin = \'\'\n'


def test_the_page_never_shows_a_pin_given_in_the_environment_or_the_file(tmp_path: Path) -> None:
    on_defaults = load_config(None, env={"STATION_SUPERVISOR_PIN": "9753", "STATION_MQTT_PASSWORD": "pw-42"})
    shown = shown_config(on_defaults)
    assert "9753" not in shown and "pw-42" not in shown
    assert f"supervisor_pin = {HIDDEN}" in shown
    assert "[policy]\ndefect_repair = 0.5" in shown  # the defaults themselves are all there
    path = tmp_path / "config.toml"
    path.write_text('# dock 7\n[ui]\nsupervisor_pin = "2468"\n', encoding="utf-8")
    assert shown_config(load_config(path, env={})) == f"# dock 7\n[ui]\nsupervisor_pin = {HIDDEN}\n"
