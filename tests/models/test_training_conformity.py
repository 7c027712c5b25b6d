"""The conformity graph's colour histogram and its fusion with the CNN embedding, exported to ONNX and
run by onnxruntime as the station runs it (needs torch: the `train` marker)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = [pytest.mark.train]

SIZE = 64


def _exported(tmp_path: Path, colour_weight: float) -> tuple[object, object]:
    """An untrained ResNet-18-shaped embedding net with flip TTA and the colour histogram, exported."""
    import onnxruntime as ort
    import torch

    from models.training.common import export_onnx
    from models.training.conformity import (
        MEAN,
        STD,
        Backbone,
        ColourHistogram,
        EmbeddingNet,
        ExportedEmbeddingNet,
    )
    from vision.inference.runtime import InputSpec

    torch.manual_seed(0)
    net = EmbeddingNet(8, 16, Backbone.RESNET18)
    exported = ExportedEmbeddingNet(net, True, ColourHistogram(MEAN, STD), colour_weight).eval()
    spec = InputSpec(SIZE, SIZE, "rgb", MEAN, STD)
    path = export_onnx(exported, spec, tmp_path / f"w{colour_weight}", ["embedding"])
    return exported, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _normalised(rgb: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> the model input, as the station's runtime prepares it."""
    from models.training.conformity import MEAN, STD
    from vision.inference.runtime import InputSpec, normalise

    return normalise(InputSpec(SIZE, SIZE, "rgb", MEAN, STD), rgb)


def _plain(bgr: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.clip(np.array(bgr)[None, None] + rng.integers(-6, 7, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    return image


def _histogram(images_bgr: list[np.ndarray]) -> np.ndarray:
    import torch

    from models.training.conformity import MEAN, STD, ColourHistogram

    rgb = np.stack([cv2.cvtColor(im, cv2.COLOR_BGR2RGB) for im in images_bgr])
    with torch.no_grad():
        out: np.ndarray = ColourHistogram(MEAN, STD)(torch.from_numpy(_normalised(rgb))).numpy()
    return out


def test_histogram_bins_follow_opencv_hue_and_separate_colours() -> None:
    from models.training.conformity import MEAN, STD, ColourHistogram

    colours = {"red": (30, 30, 220), "orange": (20, 140, 240), "green": (40, 200, 40), "blue": (220, 60, 30),
               "magenta-red": (45, 20, 220)}
    hists = _histogram([_plain(c) for c in colours.values()])
    np.testing.assert_allclose(np.linalg.norm(hists, axis=1), 1.0, atol=1e-5)
    h = ColourHistogram(MEAN, STD)
    for (name, bgr), hist in zip(colours.items(), hists, strict=True):
        # The heaviest hue bin is the one OpenCV's hue (0-179) falls in (circular, red at both ends).
        cv_hue = int(cv2.cvtColor(np.array([[bgr]], dtype=np.uint8), cv2.COLOR_BGR2HSV)[0, 0, 0]) / 180
        heaviest = int(np.argmax(hist.reshape(h.hue_bins, -1).sum(1)))
        distance = abs(heaviest / h.hue_bins - cv_hue)
        assert min(distance, 1 - distance) <= 1 / h.hue_bins, name
    sims = hists @ hists.T
    names = list(colours)
    # Red and a slightly bluish red straddle hue 0 and are still alike; the other colours are not.
    assert sims[names.index("red"), names.index("magenta-red")] > 0.3
    for a in ("red", "green", "blue"):
        for b in ("orange", "green", "blue"):
            if a != b:
                assert sims[names.index(a), names.index(b)] < 0.05, (a, b)


def test_histogram_ignores_where_the_colours_are() -> None:
    rng = np.random.default_rng(3)
    image = _plain((30, 30, 220))
    image[:, : SIZE // 2] = (220, 60, 30)
    moved = np.ascontiguousarray(np.roll(image, SIZE // 4, axis=1)[:, ::-1])
    other = _plain((220, 60, 30))
    hists = _histogram([image, moved, other, rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)])
    assert hists[0] @ hists[1] > 0.95
    assert hists[0] @ hists[2] < 0.8


def test_fused_embedding_exports_and_mixes_cnn_and_colour_as_documented(tmp_path: Path) -> None:
    import torch

    images = np.stack([cv2.cvtColor(_plain(c), cv2.COLOR_BGR2RGB) for c in ((30, 30, 220), (220, 60, 30))])
    images[:, 20:40, 10:30] = 255  # some structure for the CNN
    x = _normalised(images)
    fused_model, fused = _exported(tmp_path, 0.7)
    _plain_model, plain = _exported(tmp_path, 0.0)
    e = fused.run(["embedding"], {"image": x})[0]  # type: ignore[attr-defined]
    c = plain.run(["embedding"], {"image": x})[0]  # type: ignore[attr-defined]
    with torch.no_grad():
        np.testing.assert_allclose(fused_model(torch.from_numpy(x)).numpy(), e, atol=1e-4)  # type: ignore[operator]
    hist = _histogram([cv2.cvtColor(im, cv2.COLOR_RGB2BGR) for im in images])
    assert e.shape == (2, c.shape[1] + hist.shape[1])
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    # cosine(fused) = (cosine(cnn) + w² · Bhattacharyya(colour)) / (1 + w²): the Gallery needs no change.
    expected = (c[0] @ c[1] + 0.49 * hist[0] @ hist[1]) / 1.49
    assert e[0] @ e[1] == pytest.approx(expected, abs=1e-4)
    # The graph is still mirror-invariant (flip TTA on the CNN, a histogram does not see position).
    mirrored = np.ascontiguousarray(x[..., ::-1])
    np.testing.assert_allclose(fused.run(["embedding"], {"image": mirrored})[0], e,  # type: ignore[attr-defined]
                               atol=1e-5)


def test_colour_weight_is_chosen_by_what_separates_the_validation_products() -> None:
    from models.training.conformity import choose_colour_weight

    rng = np.random.default_rng(0)
    gallery_y = np.repeat(np.arange(4), 10)
    query_y = np.repeat(np.arange(4), 3)

    def unit(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
        return out

    def informative(labels: np.ndarray, dim: int) -> np.ndarray:
        return unit(np.eye(dim)[labels] + rng.normal(0, 0.2, (len(labels), dim)))

    def noise(labels: np.ndarray, dim: int) -> np.ndarray:
        return unit(rng.normal(0, 1, (len(labels), dim)))

    mask = np.ones(len(gallery_y), dtype=bool)
    weight, tried = choose_colour_weight((noise(gallery_y, 8), noise(query_y, 8)),
                                         (informative(gallery_y, 6), informative(query_y, 6)),
                                         gallery_y, query_y, mask)
    assert weight > 0 and tried["tried"][f"{weight:g}"]["top1"] == 1.0
    weight, _ = choose_colour_weight((informative(gallery_y, 8), informative(query_y, 8)),
                                     (noise(gallery_y, 6), noise(query_y, 6)), gallery_y, query_y, mask)
    assert weight == 0.0


def test_the_mirror_pass_is_kept_only_when_it_earns_its_cost_on_validation() -> None:
    from models.training.conformity import FLIP_MIN_GAIN, _choose_flip

    def checks(without: float, with_flip: float) -> dict[str, dict[str, float]]:
        return {"tta_flip=False": {"top1": without}, "tta_flip=True": {"top1": with_flip}}

    assert _choose_flip(None, checks(0.90, 0.90 + FLIP_MIN_GAIN)) is True
    assert _choose_flip(None, checks(0.90, 0.905)) is False  # half a point: not worth a second pass
    assert _choose_flip(None, checks(0.96, 0.95)) is False
    assert _choose_flip(None, {}) is False  # no validation split: the cheaper graph
    assert _choose_flip(True, checks(0.96, 0.95)) is True  # asked for: --flip on / off
    assert _choose_flip(False, checks(0.50, 0.90)) is False


def test_cutmix_pastes_one_box_from_the_shuffled_batch_and_reports_what_is_left_of_each_image() -> None:
    import torch

    from models.training.conformity import _cutmix

    n, size = 6, 32
    # Image i is filled with the value i, so each pixel tells which image it came from.
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, size, size).contiguous()
    y = torch.arange(n) * 10
    for seed in range(20):
        mixed, y_other, keep = _cutmix(x, y, np.random.default_rng(seed))
        assert mixed.shape == x.shape
        assert torch.equal(x, torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, size, size))
        for i in range(n):
            source = int(y_other[i]) // 10
            own = mixed[i] == i
            pasted = mixed[i] == source
            # Every pixel is the image's own or the partner's; the labels' split is the area split.
            assert bool((own | pasted).all())
            if source != i:
                assert float(own[0].float().mean()) == pytest.approx(keep)
        assert 0.0 <= keep <= 1.0
        assert sorted(y_other.tolist()) == sorted(y.tolist())


def test_an_unknown_loss_is_refused_before_any_data_is_read(tmp_path: Path) -> None:
    from models.training.conformity import ConformityRecipe, train_conformity

    with pytest.raises(ValueError, match="use cosface or softmax"):
        train_conformity(tmp_path / "no-such-data", tmp_path / "out", ConformityRecipe(loss="triplet"))
    assert not (tmp_path / "out").exists()


def test_random_erasing_blanks_one_box_in_the_chosen_share_of_images_and_leaves_the_batch_alone() -> None:
    import torch

    from models.training.conformity import _erase

    n, size = 64, 40
    x = torch.full((n, 3, size, size), 7.0)  # no noise draw comes out at exactly 7
    for seed in range(5):
        erased = _erase(x, 0.25, np.random.default_rng(seed))
        assert torch.equal(x, torch.full((n, 3, size, size), 7.0))
        changed = erased != 7.0
        hit = changed.flatten(1).any(1)
        assert 4 <= int(hit.sum()) <= 30  # ~16 of 64
        for i in np.nonzero(hit.numpy())[0]:
            rows, cols = np.nonzero(changed[i, 0].numpy())
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            # One rectangle (every pixel inside it changed, in every channel), 2-25 % of the image.
            assert int(changed[i].sum()) == 3 * box
            assert 0.02 * size * size * 0.8 <= box <= 0.25 * size * size * 1.2
    assert torch.equal(_erase(x, 0.0, np.random.default_rng(0)), x)
    assert bool((_erase(x, 1.0, np.random.default_rng(0)) != 7.0).flatten(1).any(1).all())


def test_trivial_augment_changes_only_the_chosen_share_and_leaves_the_batch_alone() -> None:
    import torch

    from models.training.conformity import _trivial

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # A gradient with a bright square: every operation of the wide set (geometric, tone, colour)
    # changes it at all but its weakest strengths.
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:] = np.linspace(20, 200, 32, dtype=np.uint8)[None, :, None]
    image[8:20, 10:22] = (250, 120, 30)
    batch = np.repeat(image[None], 200, axis=0)
    calls = []

    def recorded(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return 255 - x

    out = _trivial(batch, 0.3, rng, recorded)
    assert np.array_equal(batch, np.repeat(image[None], 200, axis=0))  # the input batch is untouched
    changed = (out != batch).any(axis=(1, 2, 3))
    assert 35 <= int(changed.sum()) <= 85 and len(calls) == int(changed.sum())  # ~60 of 200
    assert set(calls) == {(3, 32, 32)}  # one CHW image at a time
    assert np.array_equal(out[changed], 255 - batch[changed]) and out.dtype == np.uint8
    assert _trivial(batch, 0.0, rng, recorded) is batch

    from torchvision.transforms import TrivialAugmentWide

    real = _trivial(batch[:40], 1.0, rng, TrivialAugmentWide())
    assert real.shape == (40, 32, 32, 3) and real.dtype == np.uint8
    assert int((real != batch[:40]).any(axis=(1, 2, 3)).sum()) >= 20  # identity and weak draws aside


def test_a_products_group_is_the_grocery_folder_above_it_or_none(tmp_path: Path) -> None:
    from models.datasets import Sample
    from models.training.conformity import ConformityRecipe, _group, train_conformity

    def group(key: str) -> str:
        return _group(Sample(tmp_path / key, "x", None, key))

    assert group("train/Fruit/Apple/Golden-Delicious/Golden-Delicious_001.jpg") == "Apple"
    assert group("train/Packages/Juice/Bravo-Apple-Juice/Bravo-Apple-Juice_003.jpg") == "Juice"
    assert group("train/Fruit/Banana/Banana_001.jpg") == "Banana"
    assert group("SKU-1/0001.png") == ""
    data = tmp_path / "data"
    for sku in ("SKU-A", "SKU-B"):
        (data / sku).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(data / sku / f"{i}.png"), np.full((16, 16, 3), 40 * i, np.uint8))
    with pytest.raises(ValueError, match="--coarse needs products in at least two groups"):
        train_conformity(data, tmp_path / "out", ConformityRecipe(coarse=0.5, epochs=1, size=16))
    assert not (tmp_path / "out").exists()


def test_white_balance_jitter_tints_grey_images_and_stays_in_range() -> None:
    import torch

    from models.training.conformity import _photometric

    grey = torch.full((32, 3, 8, 8), 0.5)
    plain = _photometric(grey, np.random.default_rng(0))
    assert torch.allclose(plain[:, 0], plain[:, 1]) and torch.allclose(plain[:, 1], plain[:, 2])
    tinted = _photometric(grey, np.random.default_rng(0), white_balance=0.08)
    spread = (tinted.amax(1) - tinted.amin(1)).flatten(1).mean(1)
    assert bool((spread > 0.005).all())  # every image's light has a colour now
    assert float(tinted.min()) >= 0.0 and float(tinted.max()) <= 1.0


def test_mixstyle_gives_each_image_a_mix_of_two_images_statistics_in_training_only() -> None:
    import torch

    from models.training.conformity import MixStyle

    torch.manual_seed(0)
    # Two "photos" whose channels differ only in level and spread, as under two lights.
    base = torch.randn(1, 4, 8, 8)
    x = torch.cat([base * 1.0 + 0.0, base * 3.0 + 5.0])
    style = MixStyle(p=1.0, alpha=0.1)
    style.train()
    mixed = style(x)
    # The content (the normalised map) is kept; the level moves between the two images' levels.
    normalised = (mixed - mixed.mean((2, 3), keepdim=True)) / mixed.std((2, 3), keepdim=True)
    expected = (base - base.mean((2, 3), keepdim=True)) / base.std((2, 3), keepdim=True)
    assert torch.allclose(normalised, expected.expand_as(normalised), atol=1e-4)
    levels = mixed.mean((2, 3))
    assert bool(((levels >= base.mean((2, 3)) - 1e-4) & (levels <= 3 * base.mean((2, 3)) + 5 + 1e-4)).all())
    assert not torch.allclose(mixed, x)  # some image took some of the other's statistics
    style.eval()
    assert torch.equal(style(x), x)
    assert torch.equal(MixStyle(p=0.0).train()(x), x)


def test_mixstyle_runs_after_the_first_two_stages_in_training_and_leaves_inference_alone() -> None:
    import torch

    from models.training.conformity import Backbone, EmbeddingNet

    torch.manual_seed(0)
    styled = EmbeddingNet(8, 16, Backbone.RESNET18, mixstyle=1.0)
    plain = EmbeddingNet(8, 16, Backbone.RESNET18)
    assert styled.state_dict().keys() == plain.state_dict().keys()
    calls: list[int] = []
    assert styled.style is not None
    styled.style.register_forward_hook(lambda *_: calls.append(1))
    x = torch.rand(4, 3, 48, 48)
    styled.train()
    styled(x)
    assert len(calls) == 2  # after the first and the second stage
    styled.eval()
    plain.load_state_dict(styled.state_dict())
    plain.eval()
    assert torch.equal(styled(x), plain(x))
    assert len(calls) == 2  # inference runs the plain network


@pytest.mark.parametrize(("setting", "message"), [({"white_balance": 0.6}, "white balance jitter 0.6"),
                                                  ({"white_balance": -0.1}, "white balance"),
                                                  ({"erase": 1.5}, "erase share 1.5"),
                                                  ({"mixstyle": 2.0}, "MixStyle share 2"),
                                                  ({"trivial": -0.1}, "TrivialAugment share -0.1"),
                                                  ({"min_crop": 0.0}, "smallest crop 0 "),
                                                  ({"min_crop": 1.5}, "smallest crop 1.5")])
def test_augmentation_settings_out_of_range_are_refused_before_any_data_is_read(
        tmp_path: Path, setting: dict[str, float], message: str) -> None:
    from models.training.conformity import ConformityRecipe, train_conformity

    with pytest.raises(ValueError, match=message):
        train_conformity(tmp_path / "no-such-data", tmp_path / "out", ConformityRecipe(**setting))  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_an_unknown_precision_is_refused_before_any_data_is_read(tmp_path: Path) -> None:
    from models.training.conformity import ConformityRecipe, train_conformity

    with pytest.raises(ValueError, match="use bf16 or fp32"):
        train_conformity(tmp_path / "no-such-data", tmp_path / "out", ConformityRecipe(precision="fp16"))
    assert not (tmp_path / "out").exists()


def test_training_leaves_the_process_float_state_alone() -> None:
    """Preparing a run must not switch the processor to flush subnormal floats to zero: that is
    process-wide and broke every later float computation that needs them (hypothesis refuses
    to run at all)."""
    import torch

    from models.training.common import seed_everything

    seed_everything(0, 1)
    tiny = np.finfo(np.float32).tiny
    assert np.float32(tiny) / np.float32(4) > 0
    assert float(torch.tensor(tiny, dtype=torch.float32) / 4) > 0


def test_the_weight_average_follows_the_network_and_leaves_it_alone() -> None:
    """The averaged copy moves a (1 - decay) share towards each step's weights, batch-norm
    statistics included; counters are copied; the trained network itself is untouched."""
    import torch

    from models.training.conformity import Backbone, EmbeddingNet, _WeightAverage

    torch.manual_seed(0)
    net = EmbeddingNet(8, 16, Backbone.RESNET18)
    average = _WeightAverage(net, decay=0.9)
    start = {k: v.clone() for k, v in average.net.state_dict().items()}
    assert all(not p.requires_grad for p in average.net.parameters())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    net.features[1].running_mean.add_(2.0)  # type: ignore[operator]
    net.features[1].num_batches_tracked.add_(7)  # type: ignore[operator]
    trained = {k: v.clone() for k, v in net.state_dict().items()}
    for _ in range(200):
        average.update()
    after = average.net.state_dict()
    assert not torch.allclose(start["features.1.running_mean"], after["features.1.running_mean"])
    assert not torch.allclose(start["head.1.weight"], after["head.1.weight"])
    for key, value in trained.items():
        if value.dtype.is_floating_point:
            # 200 steps at 0.9: what is left of the start is 0.9^~190, nothing.
            assert torch.allclose(after[key], value, atol=1e-6), key
        else:
            assert torch.equal(after[key], value), key
    # One step from a fresh average moves it by the warm-up share, not all the way.
    fresh_net = EmbeddingNet(8, 16, Backbone.RESNET18)
    fresh = _WeightAverage(fresh_net, decay=0.9)
    before = fresh.net.head[1].weight.clone()
    with torch.no_grad():
        fresh_net.head[1].weight.add_(1.0)
    fresh.update()
    share = 1 - 2 / 11  # one minus the decay (1 + n) / (10 + n) at n = 1
    expected = before + share * (fresh_net.head[1].weight - before)
    assert torch.allclose(fresh.net.head[1].weight, expected, atol=1e-6)
    assert torch.equal(net.state_dict()["head.1.weight"], trained["head.1.weight"])
