"""`station backup` / `station restore`: a restore into a fresh data folder gives the same
`station report` as the station that was backed up; a backup taken while the station writes is
one consistent database; a changed or cut-off archive, a data folder in use or not empty are
refused without touching the folder."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from station.backup import MANIFEST, BackupError, create_backup, restore_backup
from station.cli import main
from station.config import Config, load_config
from station.datalock import DataLock
from station.store import Store
from station.verdict import Verdict


def _config_file(tmp_path: Path, name: str, data_dir: str) -> Path:
    path = tmp_path / name
    path.write_text(f'[station]\ndata_dir = "{data_dir}"\n\n[sync]\nbroker = ""\n', encoding="utf-8")
    return path


def _report(config_file: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["--config", str(config_file), "report", "--json"]) == 0
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def test_demo_items_backed_up_and_restored_elsewhere_give_the_same_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _config_file(tmp_path, "a.toml", "station-a")
    assert main(["--config", str(first), "run", "--headless", "--items", "6", "--json"]) == 0
    capsys.readouterr()
    archive = tmp_path / "out" / "dock.tar.gz"
    assert main(["--config", str(first), "backup", "--out", str(archive), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    names = {f["name"] for f in made["files"]}
    assert {"data/station.db", "config/config.toml", "models/defect/manifest.json",
            "models/conformity/manifest.json"} <= names
    assert not any(name.endswith("model.onnx") for name in names)  # weights only with --with-models

    fresh = tmp_path / "station-b"
    assert main(["--config", str(first), "restore", str(archive), "--data-dir", str(fresh)]) == 0
    out = capsys.readouterr().out
    assert "every file matched its sha256" in out and "restored" in out
    # Customers' data, readable by the owner alone from the moment it is back (as the station makes it).
    assert (fresh / "station.db").stat().st_mode & 0o777 == 0o600
    second = _config_file(tmp_path, "b.toml", "station-b")
    original, restored = _report(first, capsys), _report(second, capsys)
    assert restored == original
    assert original["items"] == 6
    assert (tmp_path / "station-b" / "restored" / "config" / "config.toml").read_text() == first.read_text()


def _config(tmp_path: Path) -> Config:
    return load_config(_config_file(tmp_path, "config.toml", "data"), env={})


def test_a_backup_taken_while_the_station_writes_is_one_consistent_database(
        tmp_path: Path, make_verdict: Callable[..., Verdict]) -> None:
    config = _config(tmp_path)
    store = Store.from_config(config)
    store.record_verdict(make_verdict(0))
    stop = threading.Event()
    written = [1]

    def write() -> None:  # the station's record thread, committing as fast as it can
        while not stop.is_set():
            store.record_verdict(make_verdict(written[0]))
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    counts = []
    try:
        for n in range(3):
            before = written[0]
            summary = create_backup(config, tmp_path / f"live-{n}.tar.gz")
            counts.append(summary.verdicts)
            assert before <= summary.verdicts <= written[0]
    finally:
        stop.set()
        writer.join()
        store.close()
    assert counts == sorted(counts) and counts[-1] > 1
    restore_backup(tmp_path / "live-2.tar.gz", tmp_path / "again")
    with sqlite3.connect(tmp_path / "again" / "station.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == counts[-1]
        # every verdict has its outbox row: the copy is a state the station committed
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == counts[-1]


def _backup(tmp_path: Path, make_verdict: Callable[..., Verdict], with_models: bool = False) -> Path:
    config = _config(tmp_path)
    store = Store.from_config(config)
    store.record_verdict(make_verdict(1))
    store.close()
    return create_backup(config, tmp_path / "b.tar.gz", with_models=with_models).archive


def _rewrite(archive: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of `archive` with members changed (None drops a member)."""
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            extracted = src.extractfile(member)
            assert extracted is not None
            body = change(member.name, extracted.read())
            if body is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    return target


def test_a_changed_or_cut_off_archive_is_refused_and_nothing_is_restored(
        tmp_path: Path, make_verdict: Callable[..., Verdict]) -> None:
    archive = _backup(tmp_path, make_verdict)
    changed = _rewrite(archive, tmp_path / "changed.tar.gz",
                       lambda name, body: body + b"x" if name == "data/station.db" else body)
    with pytest.raises(BackupError, match="does not match its sha256"):
        restore_backup(changed, tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "station.db").exists()
    cut = _rewrite(archive, tmp_path / "cut.tar.gz",
                   lambda name, body: None if name.startswith("models/defect") else body)
    with pytest.raises(BackupError, match=r"lacks models/defect/manifest\.json"):
        restore_backup(cut, tmp_path / "fresh")
    smuggled = _rewrite(archive, tmp_path / "smuggled.tar.gz", lambda name, body: body.replace(
        b'"data/station.db"', b'"../station.db"') if name == MANIFEST else body)
    with pytest.raises(BackupError, match="outside the data folder"):
        restore_backup(smuggled, tmp_path / "fresh")
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == ["station.lock"]


def test_a_folder_not_empty_needs_force_and_one_in_use_is_refused(
        tmp_path: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]) -> None:
    archive = _backup(tmp_path, make_verdict, with_models=True)
    with tarfile.open(archive) as tar:
        assert "models/defect/model.onnx" in tar.getnames()
    target = tmp_path / "used"
    target.mkdir()
    (target / "station.db").write_bytes(b"an older database")
    (target / "station.db-wal").write_bytes(b"its journal")
    assert main(["restore", str(archive), "--data-dir", str(target)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert (target / "station.db").read_bytes() == b"an older database"
    running = DataLock(target)
    running.acquire()
    try:
        with pytest.raises(BackupError, match="in use by another station"):
            restore_backup(archive, target, force=True)
    finally:
        running.release()
    summary = restore_backup(archive, target, force=True)
    assert summary.verdicts == 1
    assert not (target / "station.db-wal").exists()  # an old journal must not replay into the restore
    with sqlite3.connect(target / "station.db") as conn:
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 1
    # The database it replaced is kept, with its journal, under one name: nothing recorded is lost.
    (kept,) = summary.kept
    assert kept.name.startswith("station.db.before-restore-") and kept.read_bytes() == b"an older database"
    assert kept.with_name(kept.name + "-wal").read_bytes() == b"its journal"


def test_a_forced_restore_keeps_the_verdicts_of_the_database_it_replaces(
        tmp_path: Path, make_verdict: Callable[..., Verdict], capsys: pytest.CaptureFixture[str]) -> None:
    """The wrong folder, or a station that recorded items after the backup: a forced restore replaces
    its database, and those verdicts (some never acknowledged by central) stay readable beside it."""
    archive = _backup(tmp_path, make_verdict)
    target = tmp_path / "other"
    store = Store(target / "station.db", target / "images")
    for seq in range(1, 4):
        store.record_verdict(make_verdict(seq))
    store.close()
    assert main(["restore", str(archive), "--data-dir", str(target), "--force"]) == 0
    out = capsys.readouterr().out
    (kept,) = target.glob("station.db.before-restore-*[0-9TZ]")
    assert f"The database this restore replaced is kept as {kept}" in out
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 3
    with sqlite3.connect(target / "station.db") as conn:
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 1


def test_backup_without_a_database_says_where_it_looked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_file = _config_file(tmp_path, "config.toml", "nothing-here")
    assert main(["--config", str(config_file), "backup", "--out", str(tmp_path / "x.tar.gz")]) == 1
    assert "no station database at" in capsys.readouterr().err
    assert not (tmp_path / "x.tar.gz").exists()


def test_a_file_that_is_no_backup_is_named_for_what_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a technician hands `station restore` by mistake: a wrong path, a text file, the release
    bundle from the same stick. Each gets one line saying what to give instead; nothing is made."""
    target = tmp_path / "data"
    assert main(["restore", str(tmp_path / "usb" / "dock.tar.gz"), "--data-dir", str(target)]) == 1
    assert "no backup file at" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not an archive\n")
    assert main(["restore", str(text), "--data-dir", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read as a backup" in err and "use another copy" in err
    bundle = tmp_path / "returns-station-0.2.0.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        info = tarfile.TarInfo("bundle/manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    assert main(["restore", str(bundle), "--data-dir", str(target)]) == 1
    err = capsys.readouterr().err
    assert "is a release bundle" in err and "`station upgrade` installs it" in err
    assert not target.exists()
