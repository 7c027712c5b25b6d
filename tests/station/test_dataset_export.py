"""`station dataset export`: what it counts as exported is what it wrote, and an item the operator
settled as manual review or quarantine is counted apart with what would make it a label."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from station.cli import main
from station.config import load_config
from station.store import FrameImage, Store
from station.verdict import Disposition, Verdict


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[station]\ndata_dir = "data"\n', encoding="utf-8")
    return path


def _seed(config_file: Path, make_verdict: Callable[..., Verdict], frame: np.ndarray) -> None:
    """A confirmed restock, a confirmed manual review and a confirmed quarantine."""
    store = Store.from_config(load_config(config_file, env={}))
    for seq, disposition in enumerate((Disposition.RESTOCK, Disposition.MANUAL_REVIEW,
                                       Disposition.QUARANTINE), start=1):
        recorded = store.record_verdict(make_verdict(seq, disposition=disposition),
                                        [FrameImage("top", frame)])
        store.confirm(recorded.verdict_id, "op-1")
    store.close()


def test_items_left_in_review_are_not_counted_as_exported(
    config_file: Path, tmp_path: Path, make_verdict: Callable[..., Verdict], frame: np.ndarray,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(config_file, make_verdict, frame)
    out = tmp_path / "export"
    assert main(["--config", str(config_file), "dataset", "export", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # Only the restock gave files (defect/good and conformity/SKU-A): one item, two files.
    assert result["items"] == 1 and result["files"] == 2
    assert result["in_review"] == 2 and result["not_settled"] == 0
    assert json.loads((out / "export.json").read_text(encoding="utf-8"))["in_review"] == 2

    assert main(["--config", str(config_file), "dataset", "export", "--out", str(tmp_path / "again")]) == 0
    printed = capsys.readouterr().out
    assert "exported 1 items (2 files)" in printed
    assert ("left out: 2 items settled as manual review or quarantine (no condition or product to learn: "
            "override them to restock, repair or recycle to train on them)") in printed
