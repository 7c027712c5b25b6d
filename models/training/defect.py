"""Training of the defect model: a small segmentation network with an image-level decision head.

Recipe (Tabernik et al. 2020, adapted to a 2-core CPU):
- the whole image at a fixed, near-native resolution (defects are thin; downscaling erases them);
- a fully convolutional encoder at stride 8 predicts a defect map, supervised by the pixel
  masks (max-pooled to the map's resolution, so a thin crack still lights its cell);
- a decision head reads the encoder features and the map, pools them globally (max and mean)
  and classifies the image (ok or a damage class) — the image score is 1 − P(ok);
- class balancing (half of every epoch is defective images), flips/rotations/photometric
  jitter, and, when real defects are scarce, defect regions cut from defective images
  (by their masks) and pasted on good ones (the CutPaste idea), or drawn scratches when
  no masks exist;
- without masks (`masks="off"`: a warehouse labels photos "damaged / fine", it does not paint
  masks) the map learns from image labels alone: a good image's map is all clean, a damaged
  image's map must light at least a few cells (multiple-instance learning on the top cells,
  Ilse et al. 2018), drawn scratches keep their drawn masks; whole images throughout, since a
  patch cut without a mask may miss the damage and be labelled wrong;
- a validation split carved from the training images picks the best epoch, the number of
  test-time views and the decision threshold; the held-back split is only scored after export;
- test-time augmentation inside the exported graph: the class probabilities and the map are
  averaged over flipped / rotated views of the image (the dihedral group of the square input),
  as many views as validation says are worth their inference time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from tqdm import tqdm

from models.datasets import GOOD, Sample, Split, defect_labels, defect_samples
from models.training.acceptance import score_previous_defect
from models.training.common import (
    code_version,
    data_digest,
    export_onnx,
    parity_check,
    read_image,
    read_mask,
    seed_everything,
    today_version,
    write_manifest,
)
from models.training.metrics import auroc, best_threshold
from models.training.progress import TrainingLog
from vision.inference.runtime import InputSpec, normalise, resize_for

logger = logging.getLogger(__name__)

STRIDE = 8
TTA_VIEWS = (1, 2, 4, 8)
TTA_MIN_GAIN = 0.005
VAL_EVERY = 5
MIL_CELLS = 4
MASKS = ("on", "off")


@dataclass(frozen=True)
class DefectRecipe:
    """Settings of one defect training run (all recorded in the manifest)."""

    size: int = 256
    colour: str = "auto"  # "gray", "rgb" or "auto" (grey when every image is grey)
    epochs: int = 40
    batch: int = 16
    # Most epochs train on patches (centred on a defect pixel for defective images): 4x cheaper at
    # the same pixel scale; the last `full_epochs` see whole images so the decision head's pooled
    # statistics match inference. 0 = whole images throughout.
    crop: int = 128
    full_epochs: int = 4
    lr: float = 3e-3
    width: int = 16
    seed: int = 0
    holdout: float = 0.3
    val_fraction: float = 0.15
    synthetic: str = "auto"  # "on", "off", "auto" (on when defective images < half the good ones)
    paste_prob: float = 0.3
    # "on": pixel masks supervise the map where the data has them; "off": image labels only.
    masks: str = "on"
    # Weight of the sparsity term on the maps of damaged images without masks (0 = top cells only).
    sparsity: float = 1.0
    # Test-time views averaged in the exported graph: 1, 2, 4 or 8; 0 = chosen on validation
    # (more views only when they gain at least TTA_MIN_GAIN validation AUROC: each costs one inference).
    tta: int = 0
    # Validation is scored every epoch only in the last `dense_val` fraction of the run (where the
    # annealed schedule puts the best epochs), every VAL_EVERY epochs before: it costs ~20 % of an epoch.
    dense_val: float = 0.35
    name: str = "defect"
    extra: dict[str, Any] = field(default_factory=dict)


def _cbr(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DefectNet(nn.Module):
    """Encoder at stride 8 -> defect-map logits; decision head -> class logits ("ok" first)."""

    def __init__(self, in_channels: int, classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            _cbr(in_channels, w, 2),
            _cbr(w, 2 * w, 2), _cbr(2 * w, 2 * w),
            _cbr(2 * w, 4 * w, 2), _cbr(4 * w, 4 * w), _cbr(4 * w, 4 * w, dilation=2),
            _cbr(4 * w, 4 * w, dilation=4),
        )
        self.seg = nn.Conv2d(4 * w, 1, 1)
        # Two more strides widen the decision's view to the whole tile (uneven surfaces are
        # a difference between regions, not a local mark).
        self.decision = nn.Sequential(_cbr(4 * w + 1, 2 * w, 2), _cbr(2 * w, 2 * w), _cbr(2 * w, 2 * w, 2))
        self.classifier = nn.Linear(6 * w + 3, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class logits (N, K), map logits (N, 1, H/8, W/8))."""
        features = self.encoder(x)
        seg = self.seg(features)
        d = self.decision(torch.cat([features, seg], 1))
        # The spread (std) of the pooled maps lets the head see a tile made of two different
        # surfaces — an uneven tile has no single mark for max pooling to find.
        pooled = torch.cat([d.amax((2, 3)), d.mean((2, 3)), d.std((2, 3)),
                            seg.amax((2, 3)), seg.mean((2, 3)), seg.std((2, 3))], 1)
        return self.classifier(pooled), seg


def dihedral_view(x: torch.Tensor, k: int, inverse: bool = False) -> torch.Tensor:
    """View k (0-7) of square NCHW images: identity, h-flip, v-flip, rot180, transpose,
    anti-transpose, rot90, rot270; the first 1, 2 and 4 views are closed under composition.
    `inverse` maps a view's output map back onto the original image (needed for rot90/270)."""
    if k == 0:
        return x
    if k == 1:
        return x.flip(3)
    if k == 2:
        return x.flip(2)
    if k == 3:
        return x.flip(2).flip(3)
    if k == 4:
        return x.transpose(2, 3)
    if k == 5:
        return x.flip(2).flip(3).transpose(2, 3)
    if k == 6:  # rot90 counter-clockwise; its inverse is rot270
        return x.transpose(2, 3).flip(3) if inverse else x.transpose(2, 3).flip(2)
    if k == 7:
        return x.transpose(2, 3).flip(2) if inverse else x.transpose(2, 3).flip(3)
    raise ValueError(f"view {k}: only 0-7 exist")


def predict_views(net: DefectNet, x: torch.Tensor, views: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities (N, K) and sigmoid map (N, 1, h, w), each the mean over the first
    `views` dihedral views (one batched pass: the views are stacked along the batch axis)."""
    n = x.shape[0]
    stacked = torch.cat([dihedral_view(x, k) for k in range(views)], 0) if views > 1 else x
    logits, seg = net(stacked)
    probs = torch.softmax(logits, 1)
    heat = torch.sigmoid(seg)
    if views == 1:
        return probs, heat
    maps = [dihedral_view(heat[k * n:(k + 1) * n], k, inverse=True) for k in range(views)]
    return probs.reshape(views, n, -1).mean(0), torch.stack(maps).mean(0)


class ExportedDefectNet(nn.Module):
    """What ships: outputs `probs` (softmax over labels) and `heatmap` (sigmoid of the map), averaged
    over `views` test-time views when views > 1."""

    def __init__(self, net: DefectNet, views: int = 1) -> None:
        super().__init__()
        if views not in TTA_VIEWS:
            raise ValueError(f"test-time views {views}: use one of {TTA_VIEWS}")
        self.net = net
        self.views = views

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return predict_views(self.net, x, self.views)


@dataclass
class _Arrays:
    images: npt.NDArray[np.uint8]  # (N, H, W, C) in the model's colour order and size
    masks: npt.NDArray[np.float32]  # (N, H, W)
    labels: npt.NDArray[np.int64]
    has_mask: npt.NDArray[np.bool_]


def _is_grey(image: npt.NDArray[np.uint8]) -> bool:
    small = image[::4, ::4].astype(np.int16)
    return bool(np.abs(small[..., 0] - small[..., 1]).max() <= 2
                and np.abs(small[..., 1] - small[..., 2]).max() <= 2)


def _load(samples: list[Sample], spec: InputSpec, labels: list[str], desc: str,
          use_masks: bool = True) -> _Arrays:
    index = {name: i for i, name in enumerate(labels)}
    n = len(samples)
    images = np.zeros((n, spec.height, spec.width, spec.channels), dtype=np.uint8)
    masks = np.zeros((n, spec.height, spec.width), dtype=np.float32)
    ys = np.zeros(n, dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    for i, s in enumerate(tqdm(samples, desc=desc, unit="img", leave=False)):
        image = read_image(s.path)
        images[i] = resize_for(spec, image)
        ys[i] = 0 if s.label == GOOD else index[s.label]
        # A good image's map is known to be clean; a damaged one's only from its mask.
        has[i] = (use_masks and s.mask is not None) or s.label == GOOD
        if has[i]:
            mask = read_mask(s.mask, image.shape[:2])
            masks[i] = cv2.resize(mask, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    return _Arrays(images, masks, ys, has)


def _split_validation(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    rng = np.random.default_rng(seed)
    train: list[Sample] = []
    val: list[Sample] = []
    for label in sorted({s.label for s in samples}):
        group = [s for s in samples if s.label == label]
        order = rng.permutation(len(group))
        k = max(1, round(fraction * len(group))) if len(group) > 1 else 0
        val += [group[i] for i in order[:k]]
        train += [group[i] for i in order[k:]]
    return train, val


def _paste(image: npt.NDArray[np.uint8], mask: npt.NDArray[np.float32], donor: npt.NDArray[np.uint8],
           donor_mask: npt.NDArray[np.float32], rng: np.random.Generator) -> tuple[npt.NDArray[np.uint8],
                                                                                  npt.NDArray[np.float32]]:
    """Cut the donor's defect (by its mask, slightly dilated and feathered) and paste it at a random place."""
    ys, xs = np.nonzero(donor_mask > 0.25)
    if len(ys) == 0:
        return image, mask
    pad = 4
    y0, y1 = max(0, ys.min() - pad), min(donor.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(donor.shape[1], xs.max() + pad + 1)
    patch = donor[y0:y1, x0:x1].astype(np.float32)
    pmask = donor_mask[y0:y1, x0:x1]
    if rng.random() < 0.5:
        patch, pmask = patch[:, ::-1], pmask[:, ::-1]
    if rng.random() < 0.5:
        patch, pmask = patch[::-1], pmask[::-1]
    h, w = pmask.shape
    height, width = mask.shape
    if h >= height or w >= width:
        return image, mask
    alpha = cv2.GaussianBlur(cv2.dilate(np.ascontiguousarray(pmask), np.ones((3, 3), np.uint8)), (5, 5), 0)
    alpha = np.clip(alpha, 0, 1)[..., None]
    ty, tx = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    out = image.astype(np.float32)
    region = out[ty:ty + h, tx:tx + w]
    out[ty:ty + h, tx:tx + w] = region * (1 - alpha) + patch * alpha
    new_mask = mask.copy()
    new_mask[ty:ty + h, tx:tx + w] = np.maximum(new_mask[ty:ty + h, tx:tx + w], pmask)
    return np.clip(out, 0, 255).astype(np.uint8), new_mask


def _scratch(image: npt.NDArray[np.uint8], mask: npt.NDArray[np.float32],
             rng: np.random.Generator) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Draw a random dark or bright scratch (used when no defect masks exist to cut from)."""
    height, width = mask.shape
    out = np.ascontiguousarray(image.copy())
    drawn = np.zeros((height, width), dtype=np.uint8)
    points = rng.integers(0, [width, height], size=(int(rng.integers(2, 5)), 2)).astype(np.int32)
    thickness = int(rng.integers(1, max(2, height // 40)))
    cv2.polylines(drawn, [points], False, 255, thickness)
    value = 20 if rng.random() < 0.5 else 235
    out[drawn > 0] = value
    return out, np.maximum(mask, (drawn > 0).astype(np.float32))


def _crop(image: npt.NDArray[np.uint8], mask: npt.NDArray[np.float32], label: int, crop: int,
          rng: np.random.Generator) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], int]:
    """A crop x crop patch; around a random defect pixel when there is one. A patch that misses the
    defect becomes a good sample (the mask says it is clean)."""
    height, width = mask.shape
    binary = (mask > 0.5).astype(np.uint8)
    # Centre on the defect's outline: for a large defect (an uneven region) the patch then shows
    # both sides of the border; for a thin one (a crack) the outline is the defect itself.
    outline = binary - cv2.erode(binary, np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(outline)
    if label != 0 and len(ys):
        k = int(rng.integers(len(ys)))
        cy = int(ys[k]) + int(rng.integers(-crop // 3, crop // 3 + 1))
        cx = int(xs[k]) + int(rng.integers(-crop // 3, crop // 3 + 1))
    else:
        cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    y0 = int(np.clip(cy - crop // 2, 0, height - crop))
    x0 = int(np.clip(cx - crop // 2, 0, width - crop))
    patch_mask = mask[y0:y0 + crop, x0:x0 + crop]
    if label != 0 and binary.any() and patch_mask.max() <= 0.5:
        label = 0
    return image[y0:y0 + crop, x0:x0 + crop], patch_mask, label


def _batch(arrays: _Arrays, index: npt.NDArray[np.int64], spec: InputSpec, rng: np.random.Generator,
           synthetic: bool, paste_prob: float, donors: npt.NDArray[np.int64], augment: bool, crop: int = 0,
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    images, masks = [], []
    labels = arrays.labels[index].copy()
    has = arrays.has_mask[index].copy()
    for j, i in enumerate(index):
        image, mask = arrays.images[i], arrays.masks[i]
        if augment and synthetic and labels[j] == 0 and rng.random() < paste_prob:
            if len(donors):
                d = int(rng.choice(donors))
                image, mask = _paste(image, mask, arrays.images[d], arrays.masks[d], rng)
                labels[j] = arrays.labels[d]
            else:
                image, mask = _scratch(image, mask, rng)
                labels[j] = 1 if arrays.labels.max() >= 1 else 0
            has[j] = True
        if crop and crop < min(mask.shape):
            image, mask, labels[j] = _crop(image, mask, int(labels[j]), crop, rng)
        if augment:
            if rng.random() < 0.5:
                image, mask = image[:, ::-1], mask[:, ::-1]
            if rng.random() < 0.5:
                image, mask = image[::-1], mask[::-1]
            if image.shape[0] == image.shape[1] and rng.random() < 0.5:
                image, mask = np.rot90(image), np.rot90(mask)
        images.append(np.ascontiguousarray(image))
        masks.append(np.ascontiguousarray(mask))
    x = torch.from_numpy(normalise(spec, np.stack(images)))
    if augment:
        n = x.shape[0]
        gain = torch.from_numpy(rng.uniform(0.8, 1.2, (n, 1, 1, 1)).astype(np.float32))
        bias = torch.from_numpy(rng.uniform(-0.3, 0.3, (n, 1, 1, 1)).astype(np.float32))
        x = x * gain + bias
    m = torch.from_numpy(np.stack(masks))[:, None]
    target = F.max_pool2d(m, STRIDE)
    return x, target, torch.from_numpy(labels), torch.from_numpy(has)


def _top_cells(seg: torch.Tensor, k: int = MIL_CELLS) -> torch.Tensor:
    """The mean of each map's `k` highest logits: a damaged image must light at least that many cells."""
    return seg.flatten(1).topk(min(k, seg[0].numel()), dim=1).values.mean(1)


def _weak_map_loss(seg: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Maps of damaged images without masks: the top cells light, and the map as a whole stays
    sparse (damage is a small part of an item), so the light falls on the damage."""
    lit = F.binary_cross_entropy_with_logits(_top_cells(seg), torch.ones(seg.shape[0]))
    return lit + sparsity * torch.sigmoid(seg).mean()


def _dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    return (1 - (2 * inter + 1) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)).mean()


def _scores(net: DefectNet, arrays: _Arrays, spec: InputSpec, views: int = 1) -> npt.NDArray[np.float64]:
    """Image scores 1 - P(ok), computed as the exported graph does with `views` test-time views."""
    net.eval()
    out = []
    chunk = max(1, 32 // views)
    with torch.no_grad():
        for start in range(0, len(arrays.labels), chunk):
            x = torch.from_numpy(normalise(spec, arrays.images[start:start + chunk]))
            probs, _ = predict_views(net, x, views)
            out.append(1.0 - probs[:, 0].double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _per_class_auroc(labels: list[str], truth: npt.NDArray[np.int64],
                     scores: npt.NDArray[np.float64]) -> dict[str, float]:
    """AUROC of each defect class against the good images (how well each kind of damage is told apart)."""
    out = {}
    for c in range(1, len(labels)):
        keep = (truth == 0) | (truth == c)
        if (truth == c).any() and (truth == 0).any():
            out[labels[c]] = auroc(truth[keep] != 0, scores[keep])
    return out


def _choose_views(fixed: int, by_views: dict[int, float]) -> int:
    """`fixed` when set, else the fewest views such that no larger count beats it by TTA_MIN_GAIN."""
    if fixed:
        return fixed
    chosen = 1
    for views in TTA_VIEWS[1:]:
        if not math.isnan(by_views[views]) and by_views[views] >= by_views[chosen] + TTA_MIN_GAIN:
            chosen = views
    return chosen


def _check(recipe: DefectRecipe) -> None:
    """Refuse a recipe's settings that are out of range, before any image is read."""
    if recipe.tta and recipe.tta not in TTA_VIEWS:
        raise ValueError(f"test-time views {recipe.tta}: use one of {TTA_VIEWS} (0 = chosen on validation)")
    if recipe.masks not in MASKS:
        raise ValueError(f"masks {recipe.masks!r}: use one of {MASKS}")
    # The decision head reaches stride 32 and pools a spread: it needs at least 2x2 cells there.
    if recipe.size < 64 or recipe.size % 32 or (recipe.crop and (recipe.crop < 64 or recipe.crop % 32)):
        raise ValueError(f"--size {recipe.size} / --crop {recipe.crop}: both must be multiples of 32, "
                         "at least 64 (crop 0 = whole images)")


def _colour_of(recipe: DefectRecipe, samples: list[Sample]) -> str:
    """The recipe's colour; with "auto", grey when twenty images spread over the data are all grey."""
    if recipe.colour != "auto":
        return recipe.colour
    probe = [read_image(s.path) for s in samples[:: max(1, len(samples) // 20)]]
    return "gray" if all(_is_grey(p) for p in probe) else "rgb"


@dataclass(frozen=True)
class _Draw:
    """How a training batch's images are drawn: half good, half damaged (rarer defect classes more
    often, but not fully balanced: that overfits the rarest), and which damaged images lend their
    masked damage to good ones (synthetic defects)."""

    goods: npt.NDArray[np.intp]
    bads: npt.NDArray[np.intp]
    bad_weights: npt.NDArray[np.float64]
    donors: npt.NDArray[np.intp]
    synthetic: bool

    @classmethod
    def of(cls, arrays: _Arrays, synthetic: str) -> _Draw:
        goods = np.nonzero(arrays.labels == 0)[0]
        bads = np.nonzero(arrays.labels != 0)[0]
        mask_peak = arrays.masks.reshape(len(arrays.labels), -1).max(1)
        counts = np.bincount(arrays.labels).astype(np.float64)
        weights = 1.0 / np.sqrt(counts[arrays.labels[bads]]) if len(bads) else np.zeros(0)
        return cls(
            goods=goods,
            bads=bads,
            bad_weights=weights / weights.sum() if len(bads) else weights,
            donors=np.nonzero((arrays.labels != 0) & arrays.has_mask & (mask_peak > 0.25))[0],
            synthetic=synthetic == "on" or (synthetic == "auto" and len(bads) < 0.5 * len(goods)),
        )

    def index(self, rng: np.random.Generator, batch: int) -> npt.NDArray[np.int64]:
        """The images of one batch (good ones stand in for damaged when there are none)."""
        half = batch // 2
        pick_bad = (rng.choice(self.bads, half, p=self.bad_weights) if len(self.bads)
                    else rng.choice(self.goods, half))
        return np.concatenate([rng.choice(self.goods, batch - half), pick_bad])


class _Trainer:
    """One run's network and optimiser, trained an epoch at a time: patch epochs centred on the
    damage while masks are used, then whole-image epochs that fit the decision head."""

    def __init__(self, recipe: DefectRecipe, arrays: _Arrays, spec: InputSpec, labels: list[str],
                 rng: np.random.Generator) -> None:
        self.recipe = recipe
        self.arrays = arrays
        self.spec = spec
        self.rng = rng
        self.draw = _Draw.of(arrays, recipe.synthetic)
        self.net = DefectNet(spec.channels, len(labels), recipe.width)
        # Without masks a patch may miss the damage its image is labelled with: whole images only.
        self.crop = recipe.crop if recipe.masks == "on" else 0
        self.full_epochs = min(recipe.full_epochs, recipe.epochs) if self.crop else recipe.epochs
        self.steps = max(1, math.ceil(len(arrays.labels) / recipe.batch))
        self.optimiser = torch.optim.AdamW(self.net.parameters(), lr=recipe.lr, weight_decay=1e-4)
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(self.optimiser, max_lr=recipe.lr,
                                                            epochs=recipe.epochs, steps_per_epoch=self.steps,
                                                            pct_start=0.15)

    def epoch(self, epoch: int, log: TrainingLog) -> tuple[float, float]:
        """Train one epoch; returns its mean loss and the learning rate of its last step."""
        recipe, net = self.recipe, self.net
        net.train()
        whole_images = epoch >= recipe.epochs - self.full_epochs
        frozen = bool(self.crop) and whole_images
        if frozen:
            # Whole-image epochs only fit the decision head to whole-image statistics: the encoder
            # and the map are frozen (forward only), which keeps these epochs cheap.
            for module in (net.encoder, net.seg):
                module.eval()
                module.requires_grad_(False)
        crop = 0 if whole_images else self.crop
        total = 0.0
        lr = float(self.optimiser.param_groups[0]["lr"])
        for step in range(self.steps):
            index = self.draw.index(self.rng, recipe.batch)
            batch = _batch(self.arrays, index, self.spec, self.rng, self.draw.synthetic, recipe.paste_prob,
                           self.draw.donors, True, crop)
            loss = _loss(net, batch, map_frozen=frozen, patches=bool(crop), sparsity=recipe.sparsity)
            self.optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            lr = float(self.optimiser.param_groups[0]["lr"])
            self.optimiser.step()
            self.schedule.step()
            total += float(loss.detach())
            log.step(epoch + 1, total / (step + 1))
        return total / self.steps, lr


def _loss(net: DefectNet, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
          map_frozen: bool, patches: bool, sparsity: float) -> torch.Tensor:
    """The batch's loss: the label's, plus the map's — against the mask where an image has one (unless
    the map is frozen), and the weak loss on damaged whole images without one."""
    x, target, y, has = batch
    logits, seg = net(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.05)
    if has.any() and not map_frozen:
        seg_m, tgt_m = seg[has], target[has]
        loss = loss + F.binary_cross_entropy_with_logits(seg_m, tgt_m, pos_weight=torch.tensor(4.0))
        loss = loss + 0.5 * _dice(seg_m, tgt_m)
    weak = (~has) & (y != 0)
    if weak.any() and not patches:
        loss = loss + _weak_map_loss(seg[weak], sparsity)
    return loss


def _validated(recipe: DefectRecipe, epoch: int) -> bool:
    """Whether validation is scored after this epoch: every VAL_EVERY epochs, then every epoch in
    the last `dense_val` share of the run."""
    return epoch >= recipe.epochs * (1 - recipe.dense_val) - 1 or (epoch + 1) % VAL_EVERY == 0


def _auroc_or_nan(truth: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> float:
    """AUROC, or NaN when the validation images are all of one kind."""
    return auroc(truth, scores) if 0 < truth.sum() < len(truth) else float("nan")


def train_defect(data: Path, out: Path, recipe: DefectRecipe, threads: int = 2,
                 replaces: Path | None = None) -> dict[str, Any]:
    """Train on `data` (minus its held-back split), export to `out`, check parity; returns the manifest.

    `out` also receives metrics.csv and curves.png as the epochs go. When `replaces` holds a defect
    model, it is scored on this run's validation images and recorded as `metrics.validation.replaced`.
    """
    started = time.monotonic()
    cpu_started = time.process_time()
    # Taken at the start: the tree may change while a long run trains.
    version = code_version()
    _check(recipe)
    if recipe.crop >= recipe.size:
        # A patch as large as the image is the image: whole images throughout, and recorded as such.
        logger.info("crop %d is not smaller than size %d: whole images throughout", recipe.crop, recipe.size)
        recipe = dataclasses.replace(recipe, crop=0)
    seed_everything(recipe.seed, threads)
    rng = np.random.default_rng(recipe.seed)
    samples = defect_samples(data, Split.TRAIN, recipe.holdout)
    labels = defect_labels(defect_samples(data, Split.ALL, recipe.holdout))
    if len({s.label for s in samples}) < 2:
        raise ValueError(f"{data}: training needs good images and at least one defect class; found only "
                         f"{sorted({s.label for s in samples})}")
    colour = _colour_of(recipe, samples)
    train_s, val_s = _split_validation(samples, recipe.val_fraction, recipe.seed)
    logger.info("defect training: %d train, %d validation images, labels %s, colour %s",
                len(train_s), len(val_s), labels, colour)
    provisional = InputSpec(recipe.size, recipe.size, colour, (0.0,) * (1 if colour == "gray" else 3),
                            (1.0,) * (1 if colour == "gray" else 3))
    use_masks = recipe.masks == "on"
    train_a = _load(train_s, provisional, labels, "loading train", use_masks)
    val_a = _load(val_s, provisional, labels, "loading validation", use_masks)
    pixels = train_a.images.reshape(-1, provisional.channels).astype(np.float32) / 255.0
    spec = InputSpec(recipe.size, recipe.size, colour, tuple(float(v) for v in pixels.mean(0)),
                     tuple(float(max(v, 1e-3)) for v in pixels.std(0)))
    del pixels

    trainer = _Trainer(recipe, train_a, spec, labels, rng)
    net = trainer.net
    val_y = (val_a.labels != 0).astype(int)
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, -1, {})
    history = []
    log = TrainingLog(out, ("val_auroc",), recipe.epochs, trainer.steps, chance=0.5)
    with log:
        for epoch in range(recipe.epochs):
            log.start_epoch()
            loss, lr = trainer.epoch(epoch, log)
            if not _validated(recipe, epoch):
                history.append({"epoch": epoch + 1, "loss": loss, "val_auroc": None})
                log.end_epoch(epoch + 1, loss, {}, lr)
                logger.info("epoch %d/%d loss %.4f (%.0f s)", epoch + 1, recipe.epochs, loss,
                            time.monotonic() - started)
                continue
            val_auc = _auroc_or_nan(val_y, _scores(net, val_a, spec))
            history.append({"epoch": epoch + 1, "loss": loss, "val_auroc": val_auc})
            log.end_epoch(epoch + 1, loss, {"val_auroc": val_auc}, lr)
            logger.info("epoch %d/%d loss %.4f validation AUROC %.4f (%.0f s)", epoch + 1, recipe.epochs,
                        loss, val_auc, time.monotonic() - started)
            # Later epochs win ties: the schedule has annealed them.
            if math.isnan(val_auc) or val_auc >= best[0]:
                best = (val_auc if not math.isnan(val_auc) else best[0], epoch,
                        {k: v.detach().clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best[2])
    # Test-time views (flips and rotations averaged) and the threshold, chosen on validation.
    view_scores = {v: _scores(net, val_a, spec, v) for v in ((recipe.tta,) if recipe.tta else TTA_VIEWS)}
    by_views = {v: _auroc_or_nan(val_y, s) for v, s in view_scores.items()}
    views = _choose_views(recipe.tta, by_views)
    scores = view_scores[views]
    logger.info("validation AUROC by test-time views %s: %d views", by_views, views)
    threshold = best_threshold(val_y, scores) if 0 < val_y.sum() < len(val_y) else 0.5
    val_auc = by_views[views]
    train_seconds = time.monotonic() - started
    replaced = score_previous_defect(replaces, val_s, val_y.astype(bool), threads) if replaces else None

    exported = ExportedDefectNet(net, views)
    onnx_path = export_onnx(exported, spec, out, ["probs", "heatmap"])
    parity_images = normalise(spec, val_a.images[:48])
    parity = parity_check(exported, onnx_path, parity_images, ["probs", "heatmap"])
    manifest: dict[str, Any] = {
        "name": recipe.name,
        "task": "defect",
        "version": today_version(),
        "input": spec.to_manifest(),
        "outputs": {"probs": "softmax over labels (N, K)",
                    "heatmap": f"sigmoid defect map (N, 1, H/{STRIDE}, W/{STRIDE})"},
        "labels": labels,
        "thresholds": {"defect": threshold, "region": 0.5},
        "score": "1 - probs[ok]",
        "test_time_views": views,
        "metrics": {"validation": {
            "auroc": None if math.isnan(val_auc) else val_auc,
            "best_epoch": best[1] + 1, "images": len(val_y),
            "auroc_by_views": {str(v): None if math.isnan(a) else a for v, a in by_views.items()},
            "auroc_per_class": _per_class_auroc(labels, val_a.labels, scores),
            **({"replaced": replaced} if replaced else {}),
        }},
        "training": {
            "recipe": {k: v for k, v in recipe.__dict__.items() if k != "extra"} | recipe.extra,
            "synthetic_defects": trainer.draw.synthetic,
            "data": str(data),
            "data_digest": data_digest(samples),
            "images": {"train": len(train_s), "validation": len(val_s)},
            "split": {"holdout_fraction": recipe.holdout,
                      "rule": "held back when int.from_bytes(sha1(relative path)[:8], 'big') % 10000 "
                              "< fraction * 10000"},
            "seconds": round(train_seconds, 1),
            # Wall time depends on what else shares the CPU; CPU time (all threads) does not.
            "cpu_seconds": round(time.process_time() - cpu_started, 1),
            "history": history,
        },
        "parity": {"images": len(parity_images), "max_abs_diff": parity},
        "code_version": version,
    }
    # Returned as written (with the file name and sha256 write_manifest adds), for callers to print.
    manifest = json.loads(write_manifest(out, manifest).read_text(encoding="utf-8"))
    logger.info("exported %s (%d test-time views, threshold %.3f, validation AUROC %.4f) in %.0f s", out,
                views, threshold, val_auc, train_seconds)
    return manifest
