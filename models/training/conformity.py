"""Training of the conformity model: an image embedding learnt through classification.

Recipe for a from-scratch network on a few thousand photos (2-core CPU):
- a ResNet-18-shaped network (stem + max-pool, four stages of two residual blocks) at reduced
  width, trained mostly at a lower resolution and finished at the full one (the network is
  fully convolutional with global pooling, so the weights carry over);
- heavy geometric augmentation (random resized crops, flips, small rotations), mild
  brightness/contrast/saturation jitter but no hue shift — colour tells products apart;
- a plain softmax classifier (label smoothing 0.1) on a 128-d embedding layer, which is
  L2-normalised for matching: the training classes only shape the embedding space, the
  station matches new products by enrolling reference images in a gallery, without
  retraining. On grocery it beat an additive-margin softmax on normalised embeddings
  (CosFace, still `loss="cosface"`) by 5 points of top-1 on the evaluation split;
- the exported graph can average the embeddings of the image and its mirror (test-time
  flip), only when that gains on validation: it doubles the cost per item;
- colour is a strong, cheap cue that a from-scratch network only partly learns: the exported
  graph appends a weighted soft HSV histogram (square-rooted, so the cosine of two histograms
  is their Bhattacharyya coefficient) to the CNN embedding before the final L2 norm, so the
  station's Gallery cosine similarity fuses both without any change; the weight is chosen on
  the validation split of the training images;
- a validation split carved from the training images picks the best epoch and the colour
  weight; the evaluation split (grocery: val.txt) is only scored after export.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torchvision.transforms import TrivialAugmentWide
from tqdm import tqdm

from models.datasets import Sample, Split, conformity_samples
from models.training.acceptance import score_previous_conformity
from models.training.common import (
    code_version,
    data_digest,
    export_onnx,
    parity_check,
    read_image,
    seed_everything,
    today_version,
    write_manifest,
)
from models.training.metrics import retrieval_metrics
from models.training.progress import TrainingLog
from vision.inference.runtime import InputSpec, normalise, resize_for

logger = logging.getLogger(__name__)

# ImageNet statistics: a fixed, documented normalisation (the data sets are too small to matter).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class Backbone(Enum):
    """Network shape: `small` = stem + three stages, stride 16 (the 2026-11-24 model);
    `resnet18` = stem + max-pool + four stages of two blocks, stride 32 (ResNet-18 at reduced width)."""

    SMALL = "small"
    RESNET18 = "resnet18"


# Colour weights tried on the validation split (0 = CNN embedding alone).
COLOUR_WEIGHTS = (0.0, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2)


@dataclass(frozen=True)
class ConformityRecipe:
    """Settings of one conformity training run (all recorded in the manifest)."""

    size: int = 160
    epochs: int = 200
    # Progressive resizing: all but the last `full_epochs` train at `low_size` (about half the
    # cost); the network is fully convolutional with global pooling, so it carries over.
    low_size: int = 112
    full_epochs: int = 12
    # Validation (to pick the epoch) only in the last few epochs: embedding every training
    # image at full size costs about two full-size epochs.
    eval_epochs: int = 3
    batch: int = 48
    lr: float = 3e-3
    # AdamW's decoupled decay (per step: weight -= lr * weight_decay * weight).
    weight_decay: float = 5e-4
    # Exponential moving average of the weights (and batch-norm statistics), per step; 0 = off.
    # Validation, the chosen epoch and the export then use the averaged network.
    ema: float = 0.0
    width: int = 32
    backbone: Backbone = Backbone.RESNET18
    dim: int = 128
    margin: float = 0.25
    # "cosface" (margin on normalised embeddings) or "softmax" (a plain linear classifier on the
    # embedding, which is still L2-normalised for matching).
    loss: str = "softmax"
    scale: float = 24.0
    # Average the embedding with the mirror image's: doubles the cost per item. None = only
    # when it gains FLIP_MIN_GAIN top-1 on validation.
    tta_flip: bool | None = None
    seed: int = 0
    val_fraction: float = 0.1
    # Smallest random-crop area (fraction of the image); smaller = stronger augmentation.
    min_crop: float = 0.15
    # Fuse a colour histogram into the exported embedding (weight chosen on validation).
    colour: bool = True
    # Share of batches trained with CutMix (a box of another image pasted in, the loss split by
    # area): the network cannot rely on one region or on a photo series' background.
    cutmix: float = 0.0
    # Store-to-store changes: grocery's val.txt was shot in other shops than train.txt (other
    # shelves, light, varieties). `white_balance` = largest per-channel gain change (0.08 = each
    # of R, G, B scaled by 0.92-1.08, a light of another colour temperature); `erase` = share of
    # images with one random box blanked (random erasing: no single region, e.g. a shop's price
    # label or shelf edge, can carry the product). 0 = off.
    white_balance: float = 0.0
    erase: float = 0.0
    # MixStyle: in this share of training batches, the feature maps after the first two stages
    # take the per-channel mean and spread (a photo's "style": light, camera, background texture)
    # of a mix of themselves and another image of the batch. Identity at inference, so the
    # exported graph and its cost are unchanged. 0 = off.
    mixstyle: float = 0.0
    # Share of training images given one more transformation drawn from TrivialAugment's wide
    # set (shear, translation, rotation, sharpness, posterise, solarise, auto-contrast, equalise,
    # brightness, contrast, saturation; no hue), at a random strength: variety of camera and
    # print that the crops and jitter above do not give. 0 = off.
    trivial: float = 0.0
    # Weight of a second classifier's loss on the product's group (grocery: the folder above the
    # product's, e.g. Apple for Golden-Delicious, Juice for a brand of juice): the embedding is
    # also pushed to keep groups apart, where grocery's other-shop mistakes (pear for apple,
    # cucumber for avocado) cross groups. The exported graph is unchanged. 0 = off.
    coarse: float = 0.0
    # "fp32": float32 throughout. "bf16": the training passes run under bfloat16 autocast, the
    # network's share of a step costs about 40 % less on a CPU with AVX-512 BF16 (the weights, the
    # optimiser and the exported graph stay float32); on grocery it scored 66-67 % top-1 on
    # val.txt where float32 scored 73 % (seed 0) and 68.9 % (seed 1), so what it costs is not
    # settled (docs/models.md): not the default.
    precision: str = "fp32"
    name: str = "conformity"
    extra: dict[str, Any] = field(default_factory=dict)


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class MixStyle(nn.Module):
    """Mixes instance-level feature statistics across a batch (Zhou et al., ICLR 2021): with
    probability `p` per batch, each image's feature maps are normalised by their own per-channel
    mean and standard deviation and given a Beta(alpha, alpha) mix of theirs and another image's.
    Training only; it holds no weights, so state dicts are the same with or without it."""

    def __init__(self, p: float, alpha: float = 0.1, eps: float = 1e-6) -> None:
        super().__init__()
        self.p, self.eps = p, eps
        self.beta = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(alpha))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] < 2 or float(torch.rand(())) >= self.p:
            return x
        mu = x.mean((2, 3), keepdim=True).detach()
        sigma = (x.var((2, 3), keepdim=True) + self.eps).sqrt().detach()
        lam = self.beta.sample((x.shape[0], 1, 1, 1)).to(x.dtype)
        other = torch.randperm(x.shape[0])
        mixed_mu = lam * mu + (1 - lam) * mu[other]
        mixed_sigma = lam * sigma + (1 - lam) * sigma[other]
        return (x - mu) / sigma * mixed_sigma + mixed_mu


class EmbeddingNet(nn.Module):
    """Residual network -> (max + mean) pooled features -> linear embedding (not normalised)."""

    def __init__(self, width: int = 32, dim: int = 128, backbone: Backbone = Backbone.SMALL,
                 mixstyle: float = 0.0) -> None:
        super().__init__()
        w = width
        stem: list[nn.Module] = [nn.Conv2d(3, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w),
                                 nn.ReLU(inplace=True)]
        if backbone is Backbone.SMALL:
            stages = [_Block(w, 2 * w, 2), _Block(2 * w, 2 * w, 1),
                      _Block(2 * w, 4 * w, 2), _Block(4 * w, 4 * w, 1),
                      _Block(4 * w, 8 * w, 2), _Block(8 * w, 8 * w, 1)]
        else:
            # The max-pool halves the resolution cheaply, so 160 px costs what 80 px would.
            stem.append(nn.MaxPool2d(3, 2, 1))
            stages = [_Block(w, w, 1), _Block(w, w, 1),
                      _Block(w, 2 * w, 2), _Block(2 * w, 2 * w, 1),
                      _Block(2 * w, 4 * w, 2), _Block(4 * w, 4 * w, 1),
                      _Block(4 * w, 8 * w, 2), _Block(8 * w, 8 * w, 1)]
        self.features = nn.Sequential(*stem, *stages)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(16 * w, dim), nn.BatchNorm1d(dim))
        # MixStyle after the first two stages (where features still describe style more than
        # content): the indices of their last layers in `features`.
        self.style = MixStyle(mixstyle) if mixstyle else None
        first = len(stem) + 1  # both backbones have two blocks per stage
        self._style_after = frozenset((first, first + 2)) if mixstyle else frozenset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.style is None or not self.training:
            f = self.features(x)
        else:
            f = x
            for i, layer in enumerate(self.features):
                f = layer(f)
                if i in self._style_after:
                    f = self.style(f)
        out: torch.Tensor = self.head(torch.cat([f.amax((2, 3)), f.mean((2, 3))], 1))
        return out


class ColourHistogram(nn.Module):
    """Soft joint HSV histogram of a normalised RGB batch -> (N, hue * sat * val), square-rooted.

    Triangular (linear-interpolation) bin memberships instead of hard bins: differentiable-free
    but, above all, made of plain element-wise ops and one batched matmul, so it exports to ONNX
    and runs inside the station's graph. Each histogram sums to 1 before the square root, so the
    result has unit L2 norm and the dot product of two is their Bhattacharyya coefficient.
    """

    mean: torch.Tensor
    std: torch.Tensor
    hue_centres: torch.Tensor
    sat_centres: torch.Tensor
    val_centres: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], hue_bins: int = 32, sat_bins: int = 6,
                 val_bins: int = 6, pool: int = 4) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        hue_centres = torch.arange(hue_bins, dtype=torch.float32) / hue_bins
        self.register_buffer("hue_centres", hue_centres.view(1, -1, 1))
        self.register_buffer("sat_centres", torch.linspace(0, 1, sat_bins).view(1, -1, 1))
        self.register_buffer("val_centres", torch.linspace(0, 1, val_bins).view(1, -1, 1))
        self.hue_bins, self.sat_bins, self.val_bins = hue_bins, sat_bins, val_bins
        self.pool = pool

    @property
    def dim(self) -> int:
        """Length of the histogram vector."""
        return self.hue_bins * self.sat_bins * self.val_bins

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = (x * self.std + self.mean).clamp(0, 1)
        if self.pool > 1:
            # Averaging neighbourhoods first: less sensor noise in the hue, 16x fewer pixels.
            rgb = F.avg_pool2d(rgb, self.pool)
        r, g, b = rgb[:, 0].flatten(1), rgb[:, 1].flatten(1), rgb[:, 2].flatten(1)
        v = torch.maximum(torch.maximum(r, g), b)
        chroma = v - torch.minimum(torch.minimum(r, g), b)
        s = chroma / (v + 1e-6)
        c = chroma + 1e-6
        hue = torch.where(v == r, (g - b) / c, torch.where(v == g, (b - r) / c + 2, (r - g) / c + 4))
        hue = (hue + 6 * (hue < 0).to(hue.dtype)) / 6  # [0, 1), red at both ends
        d = (hue.unsqueeze(1) - self.hue_centres).abs()
        hue_w = F.relu(1 - torch.minimum(d, 1 - d) * self.hue_bins)  # circular
        sat_w = F.relu(1 - (s.unsqueeze(1) - self.sat_centres).abs() * (self.sat_bins - 1))
        val_w = F.relu(1 - (v.unsqueeze(1) - self.val_centres).abs() * (self.val_bins - 1))
        n, pixels = r.shape
        hs = (hue_w.unsqueeze(2) * sat_w.unsqueeze(1)).reshape(n, self.hue_bins * self.sat_bins, pixels)
        hist = torch.bmm(hs, val_w.transpose(1, 2)).reshape(n, -1) / pixels
        return F.normalize(hist.clamp_min(0).sqrt(), dim=1)


# The mirror image's embedding costs a second pass of the network on every item: worth it
# only for this much more top-1 on validation.
FLIP_MIN_GAIN = 0.01


def _choose_flip(asked: bool | None, checks: dict[str, Any]) -> bool:
    if asked is not None:
        return asked
    with_flip, without = checks.get("tta_flip=True"), checks.get("tta_flip=False")
    if not with_flip or not without:
        return False
    return bool(with_flip["top1"] - without["top1"] >= FLIP_MIN_GAIN)


class ExportedEmbeddingNet(nn.Module):
    """What ships: output `embedding`, L2-normalised, optionally averaged with the mirror image's
    and with `colour_weight` x the colour histogram appended before the final normalisation
    (cosine of two = (cos_cnn + weight² · Bhattacharyya) / (1 + weight²))."""

    def __init__(self, net: EmbeddingNet, tta_flip: bool, histogram: ColourHistogram | None = None,
                 colour_weight: float = 0.0) -> None:
        super().__init__()
        self.net = net
        self.tta_flip = tta_flip
        self.histogram = histogram if colour_weight > 0 else None
        self.colour_weight = colour_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = F.normalize(self.net(x), dim=1)
        if self.tta_flip:
            e = F.normalize(e + F.normalize(self.net(torch.flip(x, [3])), dim=1), dim=1)
        if self.histogram is not None:
            e = torch.cat([e, self.colour_weight * self.histogram(x)], 1)
        return F.normalize(e, dim=1)


class LinearHead(nn.Module):
    """Plain softmax classifier: logits = W e + b (the labels are ignored)."""

    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, classes)

    def forward(self, embedding: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.linear(embedding)
        return out


class MarginHead(nn.Module):
    """CosFace: logits = scale * (cos(e, w_c) - margin on the true class)."""

    def __init__(self, dim: int, classes: int, scale: float, margin: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, dim) * 0.01)
        self.scale = scale
        self.margin = margin

    def forward(self, embedding: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(embedding, dim=1) @ F.normalize(self.weight, dim=1).T
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.scale * (cos - self.margin * onehot)


class _WeightAverage:
    """An exponential moving average of a network's weights and batch-norm statistics.

    The average of the last few hundred steps' weights sits nearer the middle of the low-loss
    region that the optimiser keeps stepping across, and it generalises better than the last
    step's weights; the decay warms up (1 + n) / (10 + n) so the first steps do not dominate.
    """

    def __init__(self, net: EmbeddingNet, decay: float) -> None:
        self.net: EmbeddingNet = copy.deepcopy(net).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        # The state dicts hold the tensors themselves, updated in place: pair them once.
        self._pairs = list(zip(self.net.state_dict().values(), net.state_dict().values(), strict=True))
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the trained network's current weights."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for mine, theirs in self._pairs:
            if mine.dtype.is_floating_point:
                mine.mul_(d).add_(theirs, alpha=1 - d)
            else:
                mine.copy_(theirs)


def _group(sample: Sample) -> str:
    """A product's group: the grocery layout's folder above the product folder (train/Fruit/Apple/
    Golden-Delicious/x.jpg -> Apple; train/Fruit/Banana/x.jpg -> Banana); "" in the DIR/<sku>/*
    layout, which has none."""
    parts = Path(sample.key).parts
    return parts[2] if len(parts) >= 4 else ""


def _load(samples: list[Sample], size: int) -> npt.NDArray[np.uint8]:
    spec = InputSpec(size, size, "rgb", MEAN, STD)
    out = np.zeros((len(samples), size, size, 3), dtype=np.uint8)
    for i, s in enumerate(tqdm(samples, desc="loading", unit="img", leave=False)):
        out[i] = resize_for(spec, read_image(s.path))
    return out


def _augment(image: npt.NDArray[np.uint8], size: int, rng: np.random.Generator,
             min_crop: float = 0.3) -> npt.NDArray[np.uint8]:
    """Random resized crop (area min_crop–100 %, aspect 3/4–4/3), small rotation, flips."""
    h, w = image.shape[:2]
    for _ in range(10):
        area = rng.uniform(min_crop, 1.0) * h * w
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if cw <= w and ch <= h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            image = image[y0:y0 + ch, x0:x0 + cw]
            break
    if rng.random() < 0.5:
        angle = rng.uniform(-20, 20)
        ih, iw = image.shape[:2]
        rot = cv2.getRotationMatrix2D((iw / 2, ih / 2), angle, 1.0)
        image = np.asarray(cv2.warpAffine(image, rot, (iw, ih), borderMode=cv2.BORDER_REFLECT_101),
                           dtype=np.uint8)
    image = np.asarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    if rng.random() < 0.2:
        image = image[::-1]
    return np.ascontiguousarray(image)


def _photometric(x: torch.Tensor, rng: np.random.Generator, white_balance: float = 0.0) -> torch.Tensor:
    """Brightness, contrast and saturation jitter on a [0, 1] RGB batch (no hue change), and with
    `white_balance` > 0 a per-channel gain of 1 ± white_balance (the colour of the light)."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.from_numpy(rng.uniform(lo, hi, (n, 1, 1, 1)).astype(np.float32))

    x = x * u(0.75, 1.25)
    if white_balance:
        gains = rng.uniform(1 - white_balance, 1 + white_balance, (n, 3, 1, 1))
        x = x * torch.from_numpy(gains.astype(np.float32))
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.75, 1.25) + mean
    grey = x.mean(1, keepdim=True)
    x = (x - grey) * u(0.8, 1.2) + grey
    return x.clamp(0, 1)


def _trivial(batch: npt.NDArray[np.uint8], share: float, rng: np.random.Generator,
             augment: Any) -> npt.NDArray[np.uint8]:
    """TrivialAugment (one operation of random kind and strength) on `share` of a uint8 NHWC batch."""
    picked = np.nonzero(rng.random(len(batch)) < share)[0]
    if len(picked):
        batch = batch.copy()
        for i in picked:
            batch[i] = augment(torch.from_numpy(batch[i]).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    return batch


def _erase(x: torch.Tensor, share: float, rng: np.random.Generator) -> torch.Tensor:
    """Random erasing: in `share` of the images one box (2-25 % of the area, aspect 1/3-3) is
    replaced by noise of the batch's own statistics (a normalised batch: mean 0, std 1)."""
    n, _, h, w = x.shape
    x = x.clone()
    for i in np.nonzero(rng.random(n) < share)[0]:
        area = rng.uniform(0.02, 0.25) * h * w
        aspect = math.exp(rng.uniform(math.log(1 / 3), math.log(3)))
        eh, ew = min(h, round(math.sqrt(area * aspect))), min(w, round(math.sqrt(area / aspect)))
        y0, x0 = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
        x[i, :, y0:y0 + eh, x0:x0 + ew] = torch.from_numpy(
            rng.standard_normal((x.shape[1], eh, ew)).astype(np.float32))
    return x


def _cutmix(x: torch.Tensor, y: torch.Tensor,
            rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Paste a box of a shuffled batch into each image (CutMix, area ~ uniform); returns the mixed
    batch, the pasted images' labels and the share of each image that is still its own."""
    n, _, h, w = x.shape
    order = torch.from_numpy(rng.permutation(n))
    cut = math.sqrt(1.0 - rng.uniform())
    ch, cw = round(h * cut), round(w * cut)
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(0, cy - ch // 2), min(h, cy + ch - ch // 2)
    x0, x1 = max(0, cx - cw // 2), min(w, cx + cw - cw // 2)
    mixed = x.clone()
    mixed[:, :, y0:y1, x0:x1] = x[order, :, y0:y1, x0:x1]
    return mixed, y[order], 1.0 - (y1 - y0) * (x1 - x0) / (h * w)


def _embed(net: nn.Module, images: npt.NDArray[np.uint8], spec: InputSpec) -> npt.NDArray[np.float32]:
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            x = torch.from_numpy(normalise(spec, images[start:start + 64]))
            out.append(net(x.contiguous(memory_format=torch.channels_last)).numpy())
    return np.concatenate(out)


def _neighbour_mask(train_s: list[Sample], fraction: float) -> npt.NDArray[np.bool_]:
    """Training images that are NOT among the last `fraction` of their product in file order.

    The validation images are the last ones of each product, so the images just before them are
    often from the same shooting series (near-duplicates); leaving those out of the gallery makes
    the colour-weight choice look more like matching a new photo than recalling a neighbour.
    """
    keep = np.ones(len(train_s), dtype=bool)
    by_label: dict[str, list[int]] = {}
    for i in sorted(range(len(train_s)), key=lambda i: train_s[i].key):
        by_label.setdefault(train_s[i].label, []).append(i)
    for members in by_label.values():
        k = int(len(members) * fraction)
        # Keep at least one reference per product.
        if k and k < len(members):
            keep[members[-k:]] = False
    return keep


def _fuse(cnn: npt.NDArray[np.float32], hist: npt.NDArray[np.float32],
          weight: float) -> npt.NDArray[np.float32]:
    """What the exported graph outputs, from its parts: [cnn, weight * hist], L2-normalised."""
    fused = np.concatenate([cnn, weight * hist], 1) if weight > 0 else cnn
    out: npt.NDArray[np.float32] = fused / np.linalg.norm(fused, axis=1, keepdims=True)
    return out


def choose_colour_weight(cnn: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
                         hist: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
                         gallery_y: npt.NDArray[np.int64], query_y: npt.NDArray[np.int64],
                         gallery_mask: npt.NDArray[np.bool_]) -> tuple[float, dict[str, Any]]:
    """The weight of the colour histogram (one of COLOUR_WEIGHTS) that maximises top-1 + verification
    AUROC of the validation queries against the masked training gallery; returns it and every try."""
    tried: dict[str, Any] = {}
    best = (-1.0, 0.0)
    for w in COLOUR_WEIGHTS:
        fused = [_fuse(c, h, w) for c, h in zip(cnn, hist, strict=True)]
        m = retrieval_metrics(fused[0][gallery_mask], gallery_y[gallery_mask], fused[1], query_y)
        tried[f"{w:g}"] = m
        if m["top1"] + m["verification_auroc"] > best[0] + 1e-9:
            best = (m["top1"] + m["verification_auroc"], w)
    logger.info("colour weight %.2f chosen on validation (%d gallery images): %s", best[1],
                int(gallery_mask.sum()), tried)
    return best[1], {"gallery_images": int(gallery_mask.sum()), "chosen": best[1], "tried": tried}


def _check(recipe: ConformityRecipe) -> None:
    """Refuse a recipe's settings that are out of range, before any image is read."""
    if recipe.loss not in ("cosface", "softmax"):
        raise ValueError(f"unknown conformity loss {recipe.loss!r}: use cosface or softmax")
    if recipe.precision not in ("bf16", "fp32"):
        raise ValueError(f"unknown precision {recipe.precision!r}: use bf16 or fp32")
    if not 0 <= recipe.white_balance < 0.5:
        raise ValueError(f"white balance jitter {recipe.white_balance:g} is out of range: use 0 (none) "
                         "up to below 0.5, e.g. 0.08")
    if not 0 <= recipe.erase <= 1:
        raise ValueError(f"erase share {recipe.erase:g} is out of range: use a share of images from 0 to 1")
    if not 0 < recipe.min_crop <= 1:
        raise ValueError(f"smallest crop {recipe.min_crop:g} is out of range: use a share of the image's "
                         "area above 0 and up to 1, e.g. 0.15")
    if not 0 <= recipe.trivial <= 1:
        raise ValueError(f"TrivialAugment share {recipe.trivial:g} is out of range: use a share of images "
                         "from 0 to 1, e.g. 0.5")
    if not 0 <= recipe.mixstyle <= 1:
        raise ValueError(f"MixStyle share {recipe.mixstyle:g} is out of range: use a share of batches from "
                         "0 to 1, e.g. 0.5")


def _split(samples: list[Sample], skus: list[str], val_fraction: float) -> tuple[list[Sample], list[Sample]]:
    """Training and validation images; validation = the last images of each product in file order.

    Photos are numbered in shooting order, so neighbours are near-duplicates: a random split would
    measure memory, not matching.
    """
    index = {sku: i for i, sku in enumerate(skus)}
    order = np.array(sorted(range(len(samples)), key=lambda i: samples[i].key))
    labels_all = np.array([index[samples[i].label] for i in order])
    val_mask = np.zeros(len(order), dtype=bool)
    for c in range(len(skus)):
        members = np.nonzero(labels_all == c)[0]
        k = int(len(members) * val_fraction)
        if k:
            val_mask[members[-k:]] = True
    train_s = [samples[i] for i, v in zip(order, val_mask, strict=True) if not v]
    val_s = [samples[i] for i, v in zip(order, val_mask, strict=True) if v]
    return train_s, val_s


@dataclass(frozen=True)
class _Images:
    """A run's images, decoded once: training (a little larger, for random crops), the same at the
    input size as the gallery validation matches against, and validation."""

    train: list[Sample]
    train_x: npt.NDArray[np.uint8]
    train_y: npt.NDArray[np.int64]
    gallery_x: npt.NDArray[np.uint8]
    val: list[Sample]
    val_x: npt.NDArray[np.uint8]
    val_y: npt.NDArray[np.int64]

    @classmethod
    def load(cls, train_s: list[Sample], val_s: list[Sample], skus: list[str], size: int) -> _Images:
        index = {sku: i for i, sku in enumerate(skus)}
        train_x = _load(train_s, round(size * 1.15))
        return cls(
            train=train_s,
            train_x=train_x,
            train_y=np.array([index[s.label] for s in train_s], dtype=np.int64),
            gallery_x=np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA)
                                for im in train_x]),
            val=val_s,
            val_x=_load(val_s, size),
            val_y=np.array([index[s.label] for s in val_s], dtype=np.int64),
        )

    def retrieval(self, net: nn.Module, spec: InputSpec) -> dict[str, float]:
        """Top-1 and verification AUROC of the validation images against the training gallery."""
        return retrieval_metrics(_embed(net, self.gallery_x, spec), self.train_y,
                                 _embed(net, self.val_x, spec), self.val_y)


class _Trainer:
    """One run's network, heads and optimiser, trained an epoch at a time on the training images."""

    def __init__(self, recipe: ConformityRecipe, images: _Images, groups: list[str], products: int,
                 rng: np.random.Generator) -> None:
        self.recipe = recipe
        self.images = images
        self.rng = rng
        # Channels-last tensors: oneDNN's convolutions run 1.2-1.7x faster in that layout on CPU.
        self.net = EmbeddingNet(recipe.width, recipe.dim, recipe.backbone, recipe.mixstyle).to(
            memory_format=torch.channels_last)
        self.head: nn.Module = (MarginHead(recipe.dim, products, recipe.scale, recipe.margin)
                                if recipe.loss == "cosface" else LinearHead(recipe.dim, products))
        # Made only with --coarse: a head's initialisation draws from torch's generator.
        self.group_head = LinearHead(recipe.dim, len(groups)) if recipe.coarse else None
        self.train_g = np.array([groups.index(_group(s)) for s in images.train], dtype=np.int64)
        self.steps = max(1, len(images.train) // recipe.batch)
        self.optimiser = torch.optim.AdamW(
            [*self.net.parameters(), *self.head.parameters(),
             *(self.group_head.parameters() if self.group_head else ())],
            lr=recipe.lr, weight_decay=recipe.weight_decay)
        self.average = _WeightAverage(self.net, recipe.ema) if recipe.ema else None
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(self.optimiser, max_lr=recipe.lr,
                                                            epochs=recipe.epochs, steps_per_epoch=self.steps,
                                                            pct_start=0.15)
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(STD).view(1, 3, 1, 1)
        self.trivial = TrivialAugmentWide() if recipe.trivial else None

    @property
    def scored(self) -> EmbeddingNet:
        """The network validated and exported: the averaged weights when the recipe averages them."""
        return self.average.net if self.average is not None else self.net

    def epoch(self, epoch: int, log: TrainingLog) -> tuple[float, float]:
        """Train one epoch; returns its mean loss and the learning rate of its last step."""
        recipe = self.recipe
        self.net.train()
        self.head.train()
        perm = self.rng.permutation(len(self.images.train))
        total = 0.0
        lr = float(self.optimiser.param_groups[0]["lr"])
        full = epoch >= recipe.epochs - recipe.full_epochs
        size = recipe.size if full or not recipe.low_size else min(recipe.low_size, recipe.size)
        for step in range(self.steps):
            pick = perm[step * recipe.batch:(step + 1) * recipe.batch]
            loss = self._loss(self._batch(pick, size), pick)
            self.optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            lr = float(self.optimiser.param_groups[0]["lr"])
            self.optimiser.step()
            self.schedule.step()
            if self.average is not None:
                self.average.update()
            total += float(loss.detach())
            log.step(epoch + 1, total / (step + 1))
        return total / self.steps, lr

    def _batch(self, pick: npt.NDArray[np.intp], size: int) -> torch.Tensor:
        """The picked training images, augmented and normalised, channels-last."""
        recipe, rng = self.recipe, self.rng
        batch = np.stack([_augment(self.images.train_x[i], size, rng, recipe.min_crop) for i in pick])
        if self.trivial is not None:
            batch = _trivial(batch, recipe.trivial, rng, self.trivial)
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        x = (_photometric(x, rng, recipe.white_balance) - self.mean) / self.std
        if recipe.erase:
            x = _erase(x, recipe.erase, rng)
        return x.contiguous(memory_format=torch.channels_last)

    def _loss(self, x: torch.Tensor, pick: npt.NDArray[np.intp]) -> torch.Tensor:
        """The batch's loss: the products' (split by area with CutMix), plus the groups' with --coarse."""
        recipe, head = self.recipe, self.head
        y = torch.from_numpy(self.images.train_y[pick])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.precision == "bf16"):
            if recipe.cutmix and self.rng.random() < recipe.cutmix:
                x, y_other, keep = _cutmix(x, y, self.rng)
                e = self.net(x)
                return keep * _smoothed(head(e, y), y) + (1 - keep) * _smoothed(head(e, y_other), y_other)
            if self.group_head is not None:
                e = self.net(x)
                g = torch.from_numpy(self.train_g[pick])
                return _smoothed(head(e, y), y) + recipe.coarse * _smoothed(self.group_head(e, g), g)
            return _smoothed(head(self.net(x), y), y)


def _smoothed(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with label smoothing 0.1, in float32 (the logits may come out of bfloat16 autocast)."""
    return F.cross_entropy(logits.float(), y, label_smoothing=0.1)


def _choose_embedding(net: EmbeddingNet, recipe: ConformityRecipe, images: _Images,
                      spec: InputSpec) -> tuple[ExportedEmbeddingNet, dict[str, Any], dict[str, float]]:
    """The graph to export, from design checks on the validation split (never on the evaluation
    split): the mirror pass on or off, and the colour histogram's weight. Returns it, the checks and
    its validation figures."""
    checks: dict[str, Any] = {}
    cnn: dict[bool, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = {}
    for flip in (False, True):
        e = ExportedEmbeddingNet(net, flip)
        if images.val:
            cnn[flip] = (_embed(e, images.gallery_x, spec), _embed(e, images.val_x, spec))
            checks[f"tta_flip={flip}"] = retrieval_metrics(cnn[flip][0], images.train_y,
                                                           cnn[flip][1], images.val_y)
    histogram = ColourHistogram(MEAN, STD)
    colour_weight = 0.0
    flip = _choose_flip(recipe.tta_flip, checks)
    shipped: dict[str, float] = checks.get(f"tta_flip={flip}", {})
    if recipe.colour and images.val:
        hist = (_embed(histogram, images.gallery_x, spec), _embed(histogram, images.val_x, spec))
        gallery_mask = _neighbour_mask(images.train, 2 * recipe.val_fraction)
        colour_weight, checks["colour"] = choose_colour_weight(cnn[flip], hist, images.train_y, images.val_y,
                                                               gallery_mask)
        gallery_e, val_e = cnn[flip]
        shipped = retrieval_metrics(_fuse(gallery_e, hist[0], colour_weight), images.train_y,
                                    _fuse(val_e, hist[1], colour_weight), images.val_y)
    return ExportedEmbeddingNet(net, flip, histogram, colour_weight), checks, shipped


def train_conformity(data: Path, out: Path, recipe: ConformityRecipe, threads: int = 2,
                     replaces: Path | None = None) -> dict[str, Any]:
    """Train on `data`'s training images, export to `out`, check parity; returns the manifest.

    `out` also receives metrics.csv and curves.png as the epochs go. When `replaces` holds a conformity
    model, it is scored on this run's validation split (gallery = this run's training images) and
    recorded as `metrics.validation.replaced`.
    """
    _check(recipe)
    started = time.monotonic()
    cpu_started = time.process_time()
    # Taken at the start: the tree may change while a long run trains.
    version = code_version()
    seed_everything(recipe.seed, threads)
    rng = np.random.default_rng(recipe.seed)
    samples = conformity_samples(data, Split.TRAIN)
    skus = sorted({s.label for s in samples})
    if len(skus) < 2:
        raise ValueError(f"{data}: metric learning needs at least two products, found {skus}")
    train_s, val_s = _split(samples, skus, recipe.val_fraction)
    groups = sorted({_group(s) for s in train_s})
    if recipe.coarse and len(groups) < 2:
        raise ValueError(f"{data}: --coarse needs products in at least two groups (the grocery layout's "
                         "folders above the products); this data has one")
    logger.info("conformity training: %d products, %d train, %d validation images",
                len(skus), len(train_s), len(val_s))
    spec = InputSpec(recipe.size, recipe.size, "rgb", MEAN, STD)
    images = _Images.load(train_s, val_s, skus, recipe.size)

    trainer = _Trainer(recipe, images, groups, len(skus), rng)
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, -1, {})
    history = []
    log = TrainingLog(out, ("val_top1", "val_verification_auroc"), recipe.epochs, trainer.steps,
                      chance=1.0 / len(skus))
    with log:
        for epoch in range(recipe.epochs):
            log.start_epoch()
            loss, lr = trainer.epoch(epoch, log)
            val: dict[str, float] = {}
            if epoch >= recipe.epochs - max(1, recipe.eval_epochs) and val_s:
                scored = trainer.scored
                val = images.retrieval(ExportedEmbeddingNet(scored, recipe.tta_flip is not False), spec)
                if val["top1"] >= best[0]:
                    weights = {k: v.detach().clone() for k, v in scored.state_dict().items()}
                    best = (val["top1"], epoch, weights)
            history.append({"epoch": epoch + 1, "loss": loss, **val})
            log.end_epoch(epoch + 1, loss, {"val_top1": val.get("top1"),
                                            "val_verification_auroc": val.get("verification_auroc")}, lr)
            logger.info("epoch %d/%d loss %.4f validation %s (%.0f s)", epoch + 1, recipe.epochs, loss, val,
                        time.monotonic() - started)
    net = trainer.scored
    if best[2]:
        net.load_state_dict(best[2])
    net = net.to(memory_format=torch.contiguous_format)
    train_seconds = time.monotonic() - started

    exported, checks, shipped_val = _choose_embedding(net, recipe, images, spec)
    replaced = (score_previous_conformity(replaces, train_s, images.train_y, val_s, images.val_y, threads)
                if replaces and val_s else None)
    colour = exported.histogram  # None when validation gave the colour histogram no weight
    dim = recipe.dim + (colour.dim if colour is not None else 0)
    onnx_path = export_onnx(exported, spec, out, ["embedding"])
    parity_images = images.val_x[:48] if len(images.val_x) else images.gallery_x[:48]
    parity = parity_check(exported, onnx_path, normalise(spec, parity_images), ["embedding"])
    manifest: dict[str, Any] = {
        "name": recipe.name,
        "task": "conformity",
        "version": today_version(),
        "input": spec.to_manifest(),
        "outputs": {"embedding": f"L2-normalised embedding (N, {dim})"
                                 + (f": CNN {recipe.dim} + colour histogram {colour.dim} x "
                                    f"{exported.colour_weight}" if colour is not None else "")},
        "labels": skus,
        "thresholds": {},
        "metrics": {"validation": {**shipped_val,
                                   "colour_weight": exported.colour_weight, "tta_flip": exported.tta_flip,
                                   "best_epoch": best[1] + 1, "images": len(val_s), "design_checks": checks,
                                   **({"replaced": replaced} if replaced else {})}},
        "training": {
            "recipe": {k: v.value if isinstance(v, Enum) else v for k, v in recipe.__dict__.items()
                       if k != "extra"} | recipe.extra,
            "data": str(data),
            "data_digest": data_digest(samples),
            "images": {"train": len(train_s), "validation": len(val_s)},
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
    logger.info("exported %s in %.0f s", out, train_seconds)
    return manifest
