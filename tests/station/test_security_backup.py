"""A backup carries the station's secrets (the config: broker password, supervisor PIN, camera
stream passwords) and its customers' returns (the database): the archive, and every file a
restore writes, are readable by their owner alone, whatever the umask and wherever they go."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.backup import create_backup, restore_backup
from station.config import load_config
from station.store import Store
from station.verdict import Verdict

SECRETS = '[sync]\nbroker = ""\npassword = "broker-secret"\n\n[ui]\nsupervisor_pin = "7391"\n'


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a login shell (022): files are created readable by every user unless told."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.usefixtures("open_umask")
def test_the_archive_and_what_a_restore_writes_are_the_owners_alone(
        tmp_path: Path, make_verdict: Callable[..., Verdict]) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[station]\ndata_dir = "data"\n\n{SECRETS}', encoding="utf-8")
    config = load_config(config_file, env={})
    store = Store.from_config(config)
    store.record_verdict(make_verdict(1))
    store.close()

    archive = create_backup(config, tmp_path / "usb" / "dock.tar.gz").archive
    with tarfile.open(archive) as tar:
        inside = tar.extractfile("config/config.toml")
        assert inside is not None and b"broker-secret" in inside.read()  # what makes the mode matter
    assert _mode(archive) == 0o600

    fresh = tmp_path / "fresh"
    summary = restore_backup(archive, fresh)
    config_copy = fresh / "restored" / "config" / "config.toml"
    assert config_copy in summary.restored and b"7391" in config_copy.read_bytes()
    assert {path.name: _mode(path) for path in summary.restored} == \
        {path.name: 0o600 for path in summary.restored}
