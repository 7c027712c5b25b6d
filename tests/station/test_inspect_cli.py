"""`station inspect`: a verdict per image with reasons and timings; a corrupt or missing
file gets an error line and the run goes on."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from models.synthetic import Case, ReturnsGenerator
from station.cli import main

pytestmark = pytest.mark.slow


def test_verdicts_for_images_and_errors_for_corrupt_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = ReturnsGenerator(seed=7)  # the seed of the embedded demo catalog
    wrong = next(i for i in range(200) if generator.plan(i).case is Case.WRONG_ITEM)
    cv2.imwrite(str(tmp_path / "a_wrong.png"), generator.generate(wrong).frame_bgr)
    (tmp_path / "b_corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    config = tmp_path / "config.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "var"}"\n', encoding="utf-8")
    code = main(["--config", str(config), "inspect", "--json", str(tmp_path / "a_wrong.png"),
                 str(tmp_path / "b_corrupt.jpg"), str(tmp_path / "c_missing.png")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1  # some files failed
    assert [Path(line["path"]).name for line in lines] == ["a_wrong.png", "b_corrupt.jpg", "c_missing.png"]
    verdict = lines[0]
    assert verdict["schema"] == "returns.verdict/1"
    assert verdict["decision"]["disposition"] in ("quarantine", "manual_review")  # never restocked
    assert any("not the" in reason for reason in verdict["decision"]["reasons"])
    assert {"codes", "defect", "total"} <= set(verdict["timings_ms"])
    assert "not a readable image" in lines[1]["error"]
    assert "file not found" in lines[2]["error"]
