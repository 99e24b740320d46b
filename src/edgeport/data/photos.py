"""Real photographs as an image-classification dataset: crops, preprocessing, and splits by photograph.

A pretrained classifier is only measured honestly on real images. Public wheels ship a few
(scikit-image's sample photographs); one photograph gives many realistic inputs as crops at different
positions, scales and aspect ratios (the first crop of each is the standard centre crop, the others are
seeded random-resized crops, every other one mirrored), each resized to the network's resolution with
bicubic filtering and normalised as the network was trained.

The calibration and test splits hold crops of *different* photographs (alternating in name order), so
a quantiser never calibrates on a view of a picture it is then judged on. There are no ImageNet labels
for these pictures: quality is agreement with the float source (top-1 and top-5), and the dataset says
so by having no labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgeport._optional import require
from edgeport.data.datasets import Dataset
from edgeport.errors import DatasetError

__all__ = ["photo_crops", "photo_dataset"]

CENTRE_FRACTION = 224 / 256  # the standard evaluation crop: 87.5 % of the shorter side


def photo_crops(path: str | Path, count: int, size: int, seed: int) -> np.ndarray:
    """``count`` RGB crops of the photograph at ``path``, uint8 ``[count, size, size, 3]``."""
    image_mod = require("PIL.Image", "images", "reading photographs")
    try:
        with image_mod.open(path) as im:
            img = im.convert("RGB")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the image ({exc})", fix="give a PNG or JPEG photograph") from None
    w, h = img.size
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        if i == 0:
            side = min(w, h) * CENTRE_FRACTION
            box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        else:
            box = _random_box(rng, w, h)
        crop = img.resize((size, size), image_mod.Resampling.BICUBIC, box=box)
        if i % 2 == 1:
            crop = crop.transpose(image_mod.Transpose.FLIP_LEFT_RIGHT)
        out[i] = np.asarray(crop, np.uint8)
    return out


def _random_box(rng: np.random.Generator, w: int, h: int) -> tuple[float, float, float, float]:
    """A random-resized crop: 30–100 % of the area, aspect ratio 3:4 to 4:3 (log-uniform), anywhere inside."""
    area = w * h * rng.uniform(0.3, 1.0)
    aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw = min(w, math.sqrt(area * aspect))
    ch = min(h, math.sqrt(area / aspect))
    x0 = rng.uniform(0, w - cw)
    y0 = rng.uniform(0, h - ch)
    return x0, y0, x0 + cw, y0 + ch


def photo_dataset(paths: Sequence[str | Path], *, crops: int = 16, size: int = 224, mean: float = 127.0,
                  std: float = 128.0, layout: str = "NCHW", seed: int = 0, name: str = "photos") -> Dataset:
    """Crops of every photograph, normalised as ``(pixel - mean) / std``; splits ``calibration`` and ``test``
    hold crops of disjoint photographs (alternating in name order)."""
    files = sorted((Path(p) for p in paths), key=lambda p: p.name)
    if len(files) < 2:
        raise DatasetError(f"{len(files)} photograph(s) given: the calibration and test splits need at least two",
                           fix="pass more photographs")
    if layout not in ("NCHW", "NHWC"):
        raise DatasetError(f"unknown layout {layout!r}", fix="use NCHW or NHWC")
    arrays, owner = [], []
    for index, path in enumerate(files):
        arrays.append(photo_crops(path, crops, size, seed + index))
        owner.extend([index] * crops)
    pixels = np.concatenate(arrays).astype(np.float32)
    x = (pixels - np.float32(mean)) / np.float32(std)
    if layout == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    owners = np.asarray(owner)
    calibration = np.flatnonzero(owners % 2 == 0)
    test = np.flatnonzero(owners % 2 == 1)
    return Dataset(name=name, inputs={"x": x}, labels=None, splits={"calibration": calibration, "test": test},
                   preprocessing=f"RGB {size}x{size} bicubic crops, (pixel - {mean:g}) / {std:g}, {layout}",
                   source=f"{name}: {crops} crops of each of {len(files)} photographs "
                          f"({', '.join(p.name for p in files)})")
