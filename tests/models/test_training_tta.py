"""Test-time views in the exported defect graph: a tile turned or mirrored on the belt gets the same
score, and its heatmap turns with it (needs torch: the `train` marker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.train]


def _session(tmp_path: Path, views: int) -> object:
    import onnxruntime as ort
    import torch

    from models.training.common import export_onnx
    from models.training.defect import DefectNet, ExportedDefectNet
    from vision.inference.runtime import InputSpec

    torch.manual_seed(0)
    net = DefectNet(1, 3, width=8)
    # Random, non-trivial batch-norm statistics, so the network is far from symmetric.
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    spec = InputSpec(64, 64, "gray", (0.5,), (0.25,))
    path = export_onnx(ExportedDefectNet(net, views), spec, tmp_path / f"v{views}", ["probs", "heatmap"])
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _turns(image: np.ndarray) -> list[np.ndarray]:
    """The 8 ways a square tile can lie: rotations by 90 degrees, with and without a mirror."""
    out = []
    for mirrored in (image, image[..., ::-1]):
        out += [np.ascontiguousarray(np.rot90(mirrored, k, (2, 3))) for k in range(4)]
    return out


def test_eight_views_score_a_turned_tile_alike_and_turn_its_heatmap(tmp_path: Path) -> None:
    session = _session(tmp_path, 8)
    image = np.random.default_rng(1).normal(0, 1, (1, 1, 64, 64)).astype(np.float32)
    image[..., 10:14, 5:40] += 3.0  # an asymmetric mark
    probs, heat = session.run(["probs", "heatmap"], {"image": image})  # type: ignore[attr-defined]
    assert probs.shape == (1, 3) and heat.shape == (1, 1, 8, 8)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    for turned, heat_turned in zip(_turns(image), _turns(heat), strict=True):
        p, h = session.run(["probs", "heatmap"], {"image": turned})  # type: ignore[attr-defined]
        np.testing.assert_allclose(p, probs, atol=1e-5)
        np.testing.assert_allclose(h, heat_turned, atol=1e-5)


def test_a_single_view_is_not_equivariant(tmp_path: Path) -> None:
    """The symmetry above comes from the views: without them a turned tile's map is not the turned map."""
    session = _session(tmp_path, 1)
    image = np.random.default_rng(1).normal(0, 1, (1, 1, 64, 64)).astype(np.float32)
    image[..., 10:14, 5:40] += 3.0
    heat = session.run(["heatmap"], {"image": image})[0]  # type: ignore[attr-defined]
    errors = [float(np.abs(session.run(["heatmap"], {"image": t})[0] - h).max())  # type: ignore[attr-defined]
              for t, h in zip(_turns(image)[1:], _turns(heat)[1:], strict=True)]
    assert min(errors) > 1e-3, errors


def test_the_view_count_is_checked(tmp_path: Path) -> None:
    from models.training.defect import DefectNet, ExportedDefectNet

    with pytest.raises(ValueError, match="test-time views 3"):
        ExportedDefectNet(DefectNet(1, 2, width=8), 3)
