"""`station central` as an operator runs it for pictures: `--images-dir` says where they are kept,
`station central image` writes one out (0600) and says plainly when central holds none."""

from __future__ import annotations

import hashlib
import json
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sync.broker import LocalBroker
from sync.evidence import ImageRow
from tests.sync.conftest import Probe, wait_for
from tests.sync.test_sync_images import Sender

PREFIX = "returns/v1/site-01/dock-01/"


def _image_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station", "central", "image", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.broker
def test_a_picture_received_by_station_central_is_written_out_by_station_central_image(
    tmp_path: Path, broker: LocalBroker
) -> None:
    db, pictures = tmp_path / "central.db", tmp_path / "evidence"
    central = subprocess.Popen(
        [sys.executable, "-m", "station", "central", "--broker", broker.url(), "--db", str(db),
         "--images-dir", str(pictures), "--json", "--stats-interval", "0.2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    data = b"\xff\xd8 a returned kettle, dented \xff\xd9"
    row = ImageRow("0193a0f4-1111-7000-8000-00000000000a", "top", hashlib.sha256(data).hexdigest(), "", 0)
    try:
        assert central.stdout is not None
        wait_for(lambda: json.loads(central.stdout.readline())["connected"], 30, "central connected")
        acks = Probe(broker.port, [PREFIX + "ack"])
        sender = Sender(broker.port)
        try:
            sender.picture(PREFIX + "image", data, row.properties())
            wait_for(lambda: bool(acks.json_on(PREFIX + "ack")), 30, "the picture's ack")
        finally:
            sender.close()
            acks.close()
    finally:
        central.send_signal(signal.SIGINT)
        central.communicate(timeout=30)
    assert [p.read_bytes() for p in pictures.rglob("*.jpg")] == [data]
    out = tmp_path / "kettle.jpg"
    done = _image_command(tmp_path, "--db", str(db), "--images-dir", str(pictures), row.verdict_id, "top",
                          "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == data and stat.S_IMODE(out.stat().st_mode) == 0o600
    missing = _image_command(tmp_path, "--db", str(db), "--images-dir", str(pictures), row.verdict_id, "side",
                             "--out", str(tmp_path / "side.jpg"))
    assert missing.returncode == 1 and "holds no picture" in missing.stderr
    assert not (tmp_path / "side.jpg").exists()
    # An output that is a folder, and a database that cannot be reached: one line each, no traceback.
    into_folder = _image_command(tmp_path, "--db", str(db), "--images-dir", str(pictures), row.verdict_id,
                                 "top", "--out", str(tmp_path))
    assert into_folder.returncode == 1 and "cannot write" in into_folder.stderr
    assert "Traceback" not in into_folder.stderr
    unreachable = _image_command(tmp_path, "--db", "postgresql://central:s3cret@127.0.0.1:1/returns",
                                 row.verdict_id, "top", "--out", str(tmp_path / "x.jpg"))
    assert unreachable.returncode == 1 and "cannot read the picture" in unreachable.stderr
    assert "s3cret" not in unreachable.stderr and "Traceback" not in unreachable.stderr
