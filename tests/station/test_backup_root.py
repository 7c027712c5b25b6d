"""`station restore` run as root into the service's data folder (the technician's way: the config in
/etc/returns-station is root's): the restored files are the service user's, as the folder is, so
the station started by the service records its next item into the restored database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.backup import create_backup, restore_backup
from station.config import load_config
from station.store import Store
from station.verdict import Verdict
from tests.station.test_doctor_root import NOBODY, as_user, service_data_folder

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="needs root: the service's user is played by another uid")


@pytest.fixture
def service_folder() -> Iterator[Path]:
    with service_data_folder() as data:
        yield data


@pytest.fixture
def archive(tmp_path: Path, make_verdict: Callable[..., Verdict]) -> Iterator[Path]:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    config = load_config(config_file, env={})
    store = Store.from_config(config)
    store.record_verdict(make_verdict(1))
    store.close()
    yield create_backup(config, tmp_path / "dock.tar.gz").archive


def test_restored_as_root_the_files_are_the_service_users(
        archive: Path, service_folder: Path, make_verdict: Callable[..., Verdict]) -> None:
    summary = restore_backup(archive, service_folder)
    assert summary.verdicts == 1
    for path in (service_folder / "station.lock", *service_folder.rglob("*")):
        assert path.stat().st_uid == NOBODY, path

    def service_records_an_item() -> None:  # the service's next start, on the restored database
        store = Store(service_folder / "station.db", service_folder / "images")
        try:
            store.record_verdict(make_verdict(2))
        finally:
            store.close()

    as_user(NOBODY, service_records_an_item)
