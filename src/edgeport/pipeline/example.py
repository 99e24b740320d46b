"""The built-in example pipeline: find a digit on a strip, read it — three models the project trains.

Frames are 8×32 strips holding one handwritten digit (scikit-learn's digits) at a random column, or
none. ``detector`` (every frame) finds the column: 25 positions + "empty"; ``reader`` (the digits
CNN) reads the 8×8 crop there, so it runs only when the detector fires; ``glance`` (every 2nd frame,
independent of the others) says whether the strip's left or right half holds the digit. The
detector and glance train deterministically in seconds on the CPU and, with their data and the
pipeline file, are cached under ``$EDGEPORT_CACHE`` keyed by their recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgeport._optional import require
from edgeport.data.datasets import DIGITS_SHAPE, Dataset, digits
from edgeport.data.examples import cache_dir, digits_model, train_classifier

if TYPE_CHECKING:
    import torch

__all__ = ["EMPTY_FRACTION", "example_pipeline_path", "strips"]

WIDTH = 32
POSITIONS = WIDTH - 8 + 1  # 25 columns a digit can start at
EMPTY_FRACTION = 0.3
_RECIPE = {"arch": "strip-v1", "frames": 1500, "epochs": 6, "batch": 64, "lr": 3e-3, "seed": 0, "fps": 200}


def strips(source: Dataset, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` strips (N×1×8×32) of ``source``'s digits at random columns (``EMPTY_FRACTION`` empty),
    with each one's column (``POSITIONS`` = empty) and digit label (-1 = empty)."""
    rng = np.random.default_rng(seed)
    x = next(iter(source.inputs.values()))
    assert source.labels is not None
    canvas = rng.uniform(0.0, 0.08, size=(count, 1, 8, WIDTH)).astype(np.float32)
    column = rng.integers(0, POSITIONS, size=count)
    empty = rng.random(count) < EMPTY_FRACTION
    pick = rng.integers(0, len(x), size=count)
    label = np.where(empty, -1, source.labels[pick])
    for i in np.flatnonzero(~empty):
        canvas[i, :, :, column[i]:column[i] + 8] = np.maximum(canvas[i, :, :, column[i]:column[i] + 8], x[pick[i]])
    return canvas, np.where(empty, POSITIONS, column).astype(np.int64), label.astype(np.int64)


def _detector() -> torch.nn.Module:
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d((8, 1)), nn.Flatten(), nn.Linear(16 * WIDTH, POSITIONS + 1))


def _glance() -> torch.nn.Module:
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 4 * 16, 3))


def _datasets() -> tuple[Dataset, Dataset]:
    """(detector data, glance data): strips of the digits' train split to train on, of its test split to test."""
    base = digits()
    n = int(_RECIPE["frames"])
    train_x, train_col, _ = strips(base.split("train"), n, int(_RECIPE["seed"]))
    test_x, test_col, _ = strips(base.split("test"), n // 5, int(_RECIPE["seed"]) + 1)
    x = np.concatenate([train_x, test_x])
    col = np.concatenate([train_col, test_col])
    half = np.where(col == POSITIONS, 0, np.where(col + 4 < WIDTH // 2, 1, 2))
    idx = np.arange(len(x))
    splits = {"train": idx[:n], "calibration": idx[:256], "test": idx[n:]}
    pre = "8×32 strip, pixel/16 → [0,1], NCHW"
    return (Dataset("strip-columns", {"x": x}, col, splits, pre, "builtin:strips"),
            Dataset("strip-halves", {"x": x}, half.astype(np.int64), splits, pre, "builtin:strips"))


def _export_onnx(model: torch.nn.Module, example: tuple[int, ...], dest: Path) -> None:
    """``model`` → ONNX (dynamic batch, input ``x``, output ``logits``) in this process: the example's
    models are plain conv nets, and a converter child per model would cost more than their training."""
    torch = require("torch", "torch", "the example pipeline")
    import warnings

    with warnings.catch_warnings():
        # torch 2.13 deprecates the TorchScript exporter (dynamo=False), which writes one self-contained file
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export", DeprecationWarning)
        warnings.filterwarnings("ignore", "The feature will be removed. Please remove usage", DeprecationWarning)
        torch.onnx.export(model.eval(), (torch.zeros(example),), str(dest), input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                          dynamo=False)


def _key() -> str:
    return hashlib.sha256(json.dumps(_RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def _pipeline_toml(p_fire: float) -> str:
    return f"""# The built-in example: find a digit on a strip, read it (see edgeport.pipeline.example).
[pipeline]
name = "digit-strip"
fps = {_RECIPE['fps']}
targets = ["host", "pixel-8"]
frames = 300

[[stage]]
name = "detector"
model = "detector.onnx"
data = "detector.npz"
inputs = {{ x = "1x1x8x{WIDTH}" }}
max_accuracy_drop = "2%"
precisions = ["fp32", "int8"]

[[stage]]
name = "reader"
model = "reader.onnx"
data = "digits"
inputs = {{ x = "1x1x8x8" }}  # the app crops the strip at the detector's column
when = "detector"
probability = {p_fire:.3f}  # the detector fires on the strips that hold a digit
max_accuracy_drop = "1%"
precisions = ["fp32"]
runtimes = ["onnxruntime", "openvino"]

[[stage]]
name = "glance"
model = "glance.onnx"
data = "glance.npz"
inputs = {{ x = "1x1x8x{WIDTH}" }}
every = 2
max_accuracy_drop = "2%"
precisions = ["fp32"]
"""


def example_pipeline_path() -> Path:
    """The example's ``pipeline.toml`` beside its models and data (trained and written once, then reused)."""
    torch = require("torch", "torch", "the example pipeline")
    root = cache_dir() / f"pipeline-example-{_key()}"
    if (root / "pipeline.toml").exists():
        return root / "pipeline.toml"
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pipeline-example.", dir=root.parent))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-for-bit reproducible regardless of the machine's cores
    try:
        det_data, glance_data = _datasets()
        for name, build, data in (("detector", _detector, det_data), ("glance", _glance, glance_data)):
            torch.manual_seed(int(_RECIPE["seed"]))
            model = train_classifier(build(), data, epochs=int(_RECIPE["epochs"]), batch=int(_RECIPE["batch"]),
                                     lr=float(_RECIPE["lr"]), seed=int(_RECIPE["seed"]))
            data.save_npz(staging / f"{name}.npz")
            _export_onnx(model, (1, 1, 8, WIDTH), staging / f"{name}.onnx")
        _export_onnx(digits_model(), DIGITS_SHAPE, staging / "reader.onnx")
        test = det_data.split("test")
        assert test.labels is not None
        p_fire = float(np.mean(test.labels != POSITIONS))
        (staging / "pipeline.toml").write_text(_pipeline_toml(p_fire))
        if root.exists():
            shutil.rmtree(root)
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(threads)
    return root / "pipeline.toml"
