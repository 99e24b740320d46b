"""Built-in example model: a small CNN trained on scikit-learn's ``digits`` (``datasets.digits``).

The CNN trains deterministically in a few seconds on the CPU (seeded, single-threaded) and is
cached under ``$EDGEPORT_CACHE`` (default ``~/.cache/edgeport``) after the first run, keyed by a
hash of its recipe so a changed recipe retrains.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeport._optional import require
from edgeport.data.datasets import DIGITS_SHAPE, Dataset, digits

if TYPE_CHECKING:
    import torch

# ``digits`` (the data the example CNN trains on) lives with the other dataset loaders in ``datasets``
__all__ = ["cache_dir", "digits", "digits_model", "digits_model_path", "int8_keras_tflite", "mobilenet_style_model_path",
           "person_detect_model_path"]

_RECIPE = {"arch": "digits-cnn-v1", "epochs": 40, "batch": 64, "lr": 3e-3, "seed": 0, "wd": 1e-4}


def cache_dir() -> Path:
    root = Path(os.environ.get("EDGEPORT_CACHE", Path.home() / ".cache" / "edgeport"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _build_cnn() -> torch.nn.Module:
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def train_classifier(model: torch.nn.Module, data: Dataset, *, epochs: int, batch: int, lr: float,
                     seed: int = 0, weight_decay: float = 0.0,
                     loss_fn: Callable[..., Any] | None = None) -> torch.nn.Module:
    """Deterministic Adam training loop over ``data.split('train')`` (classification)."""
    torch = require("torch", "torch", "training")
    train = data.split("train")
    x = torch.from_numpy(next(iter(train.inputs.values())))
    assert train.labels is not None
    y = torch.from_numpy(train.labels)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    crit = loss_fn or torch.nn.functional.cross_entropy
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = crit(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()


def accuracy_of(model: torch.nn.Module, data: Dataset) -> float:
    torch = require("torch", "torch", "evaluation")
    x = torch.from_numpy(next(iter(data.inputs.values())))
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    assert data.labels is not None
    return float((pred == data.labels).mean())


def _recipe_key() -> str:
    return hashlib.sha256(json.dumps(_RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def digits_model() -> torch.nn.Module:
    """The built-in digits CNN, trained (≈ 98% test accuracy) or loaded from the cache."""
    torch = require("torch", "torch", "the built-in digits model")
    path = cache_dir() / f"digits-cnn-{_recipe_key()}.pt"
    model = _build_cnn()
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    threads = torch.get_num_threads()
    torch.manual_seed(_RECIPE["seed"])
    torch.set_num_threads(1)  # bit-for-bit reproducible regardless of the machine's cores
    try:
        train_classifier(model, digits(), epochs=int(_RECIPE["epochs"]), batch=int(_RECIPE["batch"]),
                         lr=float(_RECIPE["lr"]), seed=int(_RECIPE["seed"]), weight_decay=float(_RECIPE["wd"]))
    finally:
        torch.set_num_threads(threads)
    fd, tmp = tempfile.mkstemp(suffix=".pt", dir=path.parent)
    os.close(fd)
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    return model


def digits_model_path(directory: str | Path | None = None) -> Path:
    """The built-in digits CNN as a ``torch.export`` ``.pt2`` file (written once, then reused)."""
    torch = require("torch", "torch", "the built-in digits model")
    target_dir = Path(directory) if directory is not None else cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"digits-cnn-{_recipe_key()}.pt2"
    if path.exists():
        return path
    model = digits_model()
    example = (torch.zeros((2, *DIGITS_SHAPE[1:])),)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(model, example, dynamic_shapes=({0: batch},))
    fd, tmp = tempfile.mkstemp(suffix=".pt2", dir=target_dir)
    os.close(fd)
    torch.export.save(program, tmp)
    os.replace(tmp, path)
    return path


_PERSON_RECIPE = {"arch": "person-detect-v1", "input": [96, 96, 1], "convs": [8, 16, 32], "classes": 2, "seed": 0,
                  "calibration": 32}


def int8_keras_tflite(recipe: dict[str, Any], name: str, build: Callable[[], Any],
                       directory: str | Path | None) -> Path:
    """A Keras model built by ``build`` (seeded), full-int8 with int8 I/O, calibrated on seeded uniform [0, 1)
    images, cached under a hash of ``recipe``."""
    require("tensorflow", "tflite", f"the {name} example")
    import keras
    import numpy as np
    import tensorflow as tf

    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    target_dir = Path(directory) if directory is not None else cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{name}-{key}.tflite"
    if path.exists():
        return path
    keras.utils.set_random_seed(int(recipe["seed"]))
    model = build()
    rng = np.random.default_rng(int(recipe["seed"]))

    def representative() -> Any:
        for _ in range(int(recipe["calibration"])):
            yield [rng.uniform(0, 1, size=(1, *recipe["input"])).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with warnings.catch_warnings():  # TFLite asks for input statistics it does not need with int8 I/O
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs", category=UserWarning)
        blob = converter.convert()
    fd, tmp = tempfile.mkstemp(suffix=".tflite", dir=target_dir)
    os.close(fd)
    Path(tmp).write_bytes(blob)
    os.replace(tmp, path)
    return path


def person_detect_model_path(directory: str | Path | None = None) -> Path:
    """The seed's person-detection exercise as a full-int8 ``.tflite``: [96×96×1] → 3 × Conv2D (3×3, stride 2,
    ReLU) → global average pool → Dense → [2], int8 I/O. Built by code with seeded weights and calibrated on
    seeded random images: it answers "does it fit the MCU?", not how well it detects people."""

    def build() -> Any:
        import keras

        layers = [keras.Input(tuple(_PERSON_RECIPE["input"]), batch_size=1, name="image")]
        layers += [keras.layers.Conv2D(c, 3, strides=2, padding="same", activation="relu")
                   for c in _PERSON_RECIPE["convs"]]
        layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(int(_PERSON_RECIPE["classes"]))]
        return keras.Sequential(layers)

    return int8_keras_tflite(_PERSON_RECIPE, "person-detect", build, directory)


_MOBILE_RECIPE = {"arch": "mobilenet-style-v1", "input": [32, 32, 3], "stem": 16,
                  "blocks": [[32, 1], [64, 2], [64, 1]], "classes": 10, "seed": 0, "calibration": 16}


def mobilenet_style_model_path(directory: str | Path | None = None) -> Path:
    """A MobileNet-style full-int8 ``.tflite``: [32×32×3] → Conv2D stride 2 → 3 × (depthwise 3×3 + pointwise
    1×1, ReLU6) → global average pool → Dense → [10], int8 I/O; seeded weights, calibrated on random images."""

    def build() -> Any:
        import keras

        layers = keras.layers
        x = inp = keras.Input(tuple(_MOBILE_RECIPE["input"]), batch_size=1)
        x = layers.Conv2D(int(_MOBILE_RECIPE["stem"]), 3, strides=2, padding="same", activation="relu6")(x)
        for filters, stride in _MOBILE_RECIPE["blocks"]:
            x = layers.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu6")(x)
            x = layers.Conv2D(filters, 1, activation="relu6")(x)
        return keras.Model(inp, layers.Dense(int(_MOBILE_RECIPE["classes"]))(layers.GlobalAveragePooling2D()(x)))

    return int8_keras_tflite(_MOBILE_RECIPE, "mobilenet-style", build, directory)
