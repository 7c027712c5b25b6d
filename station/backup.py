"""`station backup` and `station restore`: one archive that brings a station back on another PC.

The archive (a gzip'd tar) holds:

- `data/…`: the SQLite database, copied with SQLite's online backup API, so it is one
  consistent state even while the station writes (the copy is taken in one step, under a
  read transaction of its own; the station's commits wait at most for that copy), and the
  enrolled SKU references (`[models] gallery`), their pictures and `site-references.json`;
- `config/config.toml`: the config file the station runs on (none on the embedded defaults);
- `calibration/<camera>.toml`: each camera's calibration file;
- `models/<name>/manifest.json`: the models' manifests (which version, which sha256), and with
  `--with-models` the model files themselves;
- `backup-manifest.json`, first: what the archive is and every other member's size and sha256.

Image files are not in it (they are the bulk of the data folder and expire by retention);
the database keeps the verdicts that name them.

`restore` refuses a data folder that is in use by a station, or not empty unless forced,
checks every member against the manifest before it writes anything into the data folder,
then puts `data/` in place and the config, calibration and model manifests beside it in
`restored/` for whoever sets the PC up to put where that PC's config says.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from station.config import Config
from station.datalock import LOCK_NAME, DataLock, DataLockError
from station.doctor import calibration_file, give_to_folder_owner

__all__ = ["FORMAT", "MANIFEST", "BackupError", "BackupSummary", "RestoreSummary", "create_backup",
           "restore_backup"]

logger = logging.getLogger(__name__)

FORMAT = "returns.backup/1"
MANIFEST = "backup-manifest.json"
RESTORED = "restored"  # in the data folder: config, calibration and manifests of the backup
_CHUNK = 1 << 20
# What reading a damaged or cut-off .tar.gz raises, besides a clean "not a tar" (tarfile.TarError).
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, OSError)


class BackupError(RuntimeError):
    """A backup that cannot be made or an archive that cannot be restored; says why and what to do."""


@dataclass(frozen=True)
class Member:
    """One file of the archive."""

    name: str  # its path inside the archive
    size: int
    sha256: str


@dataclass(frozen=True)
class BackupSummary:
    """What `create_backup` wrote."""

    archive: Path
    members: tuple[Member, ...]
    verdicts: int

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"archive": str(self.archive), "verdicts": self.verdicts,
                "files": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members]}


@dataclass(frozen=True)
class RestoreSummary:
    """What `restore_backup` put where."""

    data_dir: Path
    restored: tuple[Path, ...]
    verdicts: int
    station_id: str
    created_at: str
    # The databases a forced restore replaced, kept beside it under another name (with their journal).
    kept: tuple[Path, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"data_dir": str(self.data_dir), "files": [str(p) for p in self.restored],
                "verdicts": self.verdicts, "station_id": self.station_id, "created_at": self.created_at,
                "kept": [str(p) for p in self.kept]}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _in_data(config: Config, path: Path) -> str:
    """The archive name of a file of the data folder (its path there, or its name when outside)."""
    full = config.in_data_dir(path)
    try:
        return "data/" + full.relative_to(config.data_dir).as_posix()
    except ValueError:
        return "data/" + full.name


def copy_database(source: Path, target: Path) -> int:
    """An online copy of the SQLite file at `source` into `target`; returns the verdicts copied.

    The copy is taken in one step of the backup API, so it is one committed state of the
    database, whatever the station commits meanwhile. A file that is no database raises
    `UnusableDatabaseError` (a read-only data folder is read as the file stands).
    """
    from station.store import open_database

    src = open_database(source, readonly=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # A plain file, whatever the journal mode of the source: it restores as one file.
            dst.execute("PRAGMA journal_mode = DELETE")
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy of {source} fails SQLite's integrity check ({check}) — restore "
                                  "the last good backup with `station restore`, or move the file aside")
            try:
                verdicts = int(dst.execute("SELECT count(*) FROM verdicts").fetchone()[0])
            except sqlite3.OperationalError:
                verdicts = 0
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise BackupError(f"cannot copy {source} into {target.parent} ({exc}) — check the free space "
                                  "where --out points") from None
            raise BackupError(f"{source} is damaged ({exc}) — restore the last good backup with "
                              "`station restore`, or move the file aside") from None
        finally:
            dst.close()
    finally:
        src.close()
    return verdicts


def _model_folders(config: Config) -> dict[str, Path]:
    from station.live_models import MODEL_NAMES, model_dir, open_model_store

    folders = {"defect": model_dir(config, config.models.defect_dir),
               "conformity": model_dir(config, config.models.conformity_dir)}
    if not config.in_data_dir(config.sync.model_store_dir).is_dir():
        return folders  # central never installed a version here (and opening the store would make it)
    try:
        store = open_model_store(config)
        for name in MODEL_NAMES:
            active = store.active(name)
            if active is not None:  # a version central installed replaces the shipped one
                folders[name] = active.folder
    except Exception as exc:
        logger.warning("model store unreadable, backing up the configured model folders: %s", exc)
    return folders


def _archive_target(out: Path) -> Path:
    """`out` made absolute, its folder made; `BackupError` saying what to give instead."""
    out = out.resolve()
    if out.is_dir():
        raise BackupError(f"--out {out} is a folder: give the archive's file name, e.g. --out "
                          f"{out / ('station-backup-' + datetime.now(UTC).strftime('%Y%m%d') + '.tar.gz')}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot make the folder {out.parent} for the backup ({exc.strerror or exc}) — "
                          "give --out a file in a folder you can write to") from None
    return out


def create_backup(config: Config, out: Path, with_models: bool = False) -> BackupSummary:
    """Write the archive `out` of the station `config` describes; safe while that station runs.

    `out` appears whole or not at all: a failure leaves neither it nor its `.part`.
    """
    from station.store import UnusableDatabaseError, database_problem

    db = config.in_data_dir(config.storage.db_path)
    problem = database_problem(db)
    if problem:
        raise UnusableDatabaseError(problem)
    if not db.is_file():
        raise BackupError(f"no station database at {db}: nothing to back up — check [station] data_dir "
                          "and [storage] db_path (or --config)")
    out = _archive_target(out)
    partial = out.with_name(out.name + ".part")
    try:
        members, verdicts = _write_archive(config, db, out, partial, with_models)
    except OSError as exc:
        raise BackupError(f"cannot write the backup into {out.parent} ({exc.strerror or exc}) — give --out a "
                          "file in a folder you can write to, with room for the archive; nothing was "
                          "written") from None
    finally:
        if partial.exists():  # a half-written archive never stays behind
            partial.unlink()
    logger.info("backup of %s written to %s (%d verdicts)", config.data_dir, out, verdicts)
    return BackupSummary(out, members, verdicts)


def _write_archive(config: Config, db: Path, out: Path, partial: Path,
                   with_models: bool) -> tuple[tuple[Member, ...], int]:
    with tempfile.TemporaryDirectory(prefix="station-backup-", dir=out.parent) as tmp:
        staged: dict[str, Path] = {}  # archive name -> file to put there
        copy = Path(tmp) / "station.db"
        verdicts = copy_database(db, copy)
        staged[_in_data(config, config.storage.db_path)] = copy
        gallery = config.in_data_dir(config.models.gallery)
        if gallery.is_file():
            name = _in_data(config, config.models.gallery)
            staged[name] = gallery
            # The reference pictures: what lets a new conformity model embed the references again.
            from vision.inference.conformity import Gallery

            pictures = Gallery.pictures_folder(gallery)
            beside = PurePosixPath(name).parent / pictures.name
            for picture in sorted(pictures.glob("*.png")) if pictures.is_dir() else ():
                staged[str(beside / picture.name)] = picture
            # Which references came from which item ([models] site_references).
            from station.site_references import LISTING

            listing = gallery.with_name(LISTING)
            if listing.is_file():
                staged[str(PurePosixPath(name).parent / LISTING)] = listing
        if config.source != "<defaults>":
            staged["config/config.toml"] = Path(config.source)
        for name, cam in config.all_cameras.items():
            calibration = calibration_file(config, name, cam)
            if calibration is not None and calibration.is_file():
                staged[f"calibration/{name}.toml"] = calibration
        for name, folder in _model_folders(config).items():
            for file in ("manifest.json", *(("model.onnx",) if with_models else ())):
                if (folder / file).is_file():
                    staged[f"models/{name}/{file}"] = folder / file
        members = tuple(Member(name, path.stat().st_size, _sha256(path)) for name, path in staged.items())
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "station_id": config.station.id,
            "site_id": config.station.site,
            "config": config.source,
            "verdicts": verdicts,
            "with_models": with_models,
            "files": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in members],
        }
        # The archive holds the config (broker password, supervisor PIN, camera passwords) and the
        # customers' returns: readable by its owner alone, wherever --out puts it (a USB stick, /tmp).
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a `.part` left by an older version keeps its mode through O_CREAT
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
            for name, path in staged.items():
                tar.add(path, arcname=name, recursive=False)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(out)  # a half-written archive never carries the final name
    return members, verdicts


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and \
        path.parts[0] in ("data", "config", "calibration", "models")


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        raw = tar.extractfile(member)
        if raw is None:
            raise KeyError(MANIFEST)
        manifest: dict[str, Any] = json.loads(raw.read())
    except (KeyError, ValueError) as exc:
        if "bundle/manifest.json" in tar.getnames():
            raise BackupError(f"{archive} is a release bundle of scripts/bundle.sh, not a backup: `station "
                              "upgrade` installs it; nothing was restored") from None
        raise BackupError(f"{archive} is not a station backup (no readable {MANIFEST}: {exc}) — give the "
                          "archive `station backup` wrote; nothing was restored") from None
    except _DAMAGED as exc:
        raise _damaged(archive, exc) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is a backup of format {manifest.get('format')!r}; this station reads "
                          f"{FORMAT} — restore it with the station version that made it")
    return manifest


def _check_target(data_dir: Path) -> None:
    """`BackupError` when nothing could be restored into `data_dir`: a file, or not writable."""
    from station.datadir import not_writable

    in_the_way = next((p for p in (data_dir, *data_dir.parents) if p.exists() and not p.is_dir()), None)
    if in_the_way is not None:
        raise BackupError(f"cannot restore into {data_dir}: {in_the_way} is a file, not a folder — give "
                          "--data-dir an empty folder (or a new one), nothing was restored")
    problem = not_writable(data_dir)
    if problem:
        raise BackupError(f"cannot restore: {problem} (or give --data-dir a writable folder); nothing was "
                          "restored")


def _occupied(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)


def restore_backup(archive: Path, data_dir: Path, force: bool = False) -> RestoreSummary:
    """Check every file of `archive` against its manifest, then restore it into `data_dir`.

    Refuses a data folder a station is running on, and one that is not empty unless `force`.
    Nothing in the data folder is changed when a check fails.
    """
    _check_target(data_dir)
    if not archive.is_file():
        raise BackupError(f"no backup file at {archive} — check the path (and that the USB stick is "
                          "mounted); nothing was restored")
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the `with tar` below
    except _DAMAGED as exc:
        # tarfile lists every compression it tried, one a line: its last line is the reason.
        reason = str(exc).strip().splitlines()[-1].lstrip("- ")
        raise BackupError(f"{archive} cannot be read as a backup ({reason}): it is damaged, cut off, or "
                          "not the .tar.gz `station backup` wrote; nothing was restored — use another "
                          "copy") from None
    lock = DataLock(data_dir)
    with tar:
        manifest = _read_manifest(tar, archive)
        expected = {f["name"]: f for f in manifest.get("files", [])}
        if not all(isinstance(n, str) and _safe_name(n) for n in expected):
            raise BackupError(f"{archive} names files outside the data folder: refused")
        try:
            lock.acquire()
        except DataLockError as exc:
            raise BackupError(f"cannot restore: {exc}") from None
        try:
            occupied = _occupied(data_dir)
            if occupied and not force:
                raise BackupError(f"the data folder {data_dir} is not empty ({', '.join(occupied[:5])}"
                                  f"{', …' if len(occupied) > 5 else ''}): restore into an empty folder "
                                  "(--data-dir), or add --force to replace what is there")
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as tmp:
                staged = _extract_checked(tar, expected, Path(tmp), archive)
                restored, kept = _put_in_place(staged, data_dir)
            # Restored by root into the service's folder: the files are the service user's, as the
            # folder is, or the station could not write its own database at its next start.
            tops = {data_dir / path.relative_to(data_dir).parts[0] for path in restored}
            give_to_folder_owner(data_dir, lock.path, *sorted(tops))
        finally:
            lock.release()
    db_members = [n for n in expected if n.startswith("data/") and n.endswith(".db")]
    verdicts = int(manifest.get("verdicts", 0))
    logger.info("restored %s into %s (%d files, %s)", archive, data_dir, len(restored), ", ".join(db_members))
    return RestoreSummary(data_dir, tuple(restored), verdicts, str(manifest.get("station_id", "")),
                          str(manifest.get("created_at", "")), tuple(kept))


def _extract_checked(tar: tarfile.TarFile, expected: dict[str, dict[str, Any]], into: Path,
                     archive: Path) -> dict[str, Path]:
    """Every member of the manifest, written under `into` and checked against its sha256."""
    staged: dict[str, Path] = {}
    try:
        members = tar.getmembers()
    except _DAMAGED as exc:
        raise _damaged(archive, exc) from None
    for member in members:
        if member.name == MANIFEST:
            continue
        if member.name not in expected or not member.isfile():
            raise BackupError(f"{archive} holds {member.name!r}, which its manifest does not list: refused")
        source = tar.extractfile(member)
        if source is None:
            raise BackupError(f"{archive}: cannot read {member.name}")
        target = into / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        # Owner only from the first byte: the config holds the station's secrets, the database
        # the customers' returns, and the folder restored into may be readable by others.
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            while chunk := _read(source, archive):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected[member.name]["sha256"]:
            raise BackupError(f"{archive}: {member.name} does not match its sha256 in the manifest (the "
                              "archive is damaged or was changed): nothing was restored — use another copy")
        staged[member.name] = target
    missing = sorted(set(expected) - set(staged))
    if missing:
        raise BackupError(f"{archive} lacks {', '.join(missing)} that its manifest lists (a cut-off copy?): "
                          "nothing was restored — use another copy")
    return staged


def _damaged(archive: Path, exc: BaseException) -> BackupError:
    return BackupError(f"{archive} is damaged or cut off ({exc}): nothing was restored — use another copy")


def _read(source: IO[bytes], archive: Path) -> bytes:
    """The next chunk of a member; a cut-off or damaged archive says so (a write error is not this)."""
    try:
        return source.read(_CHUNK)
    except _DAMAGED as exc:
        raise _damaged(archive, exc) from None


def _put_in_place(staged: dict[str, Path], data_dir: Path) -> tuple[list[Path], list[Path]]:
    """Move the checked files to their places; returns them, and the databases they replaced, kept."""
    restored, kept = [], []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name, path in sorted(staged.items()):
        relative = PurePosixPath(name)
        if relative.parts[0] == "data":
            target = data_dir.joinpath(*relative.parts[1:])
            if target.suffix == ".db":
                kept += _set_aside(target, stamp)
        else:
            target = data_dir.joinpath(RESTORED, *relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        if target.suffix == ".db":
            target.chmod(0o600)  # customers' data: the owner's alone, as the station makes it
        restored.append(target)
    return restored, kept


def _set_aside(database: Path, stamp: str) -> list[Path]:
    """Keep a database a forced restore replaces as `<name>.before-restore-<stamp>`, with its journals.

    Its verdicts may be ones central never received (the wrong folder, a station that ran after the
    backup): they stay readable there. Its journals go with it under the matching name, since left in
    place they would be applied to the restored database.
    """
    if not database.exists():
        for journal in ("-wal", "-shm", "-journal"):
            database.with_name(database.name + journal).unlink(missing_ok=True)
        return []
    aside = database.with_name(f"{database.name}.before-restore-{stamp}")
    database.replace(aside)
    for journal in ("-wal", "-journal"):
        old = database.with_name(database.name + journal)
        if old.exists():
            old.replace(aside.with_name(aside.name + journal))
    database.with_name(database.name + "-shm").unlink(missing_ok=True)  # rebuilt from the -wal on open
    logger.warning("the database %s replaced by the restore is kept as %s", database, aside)
    return [aside]
