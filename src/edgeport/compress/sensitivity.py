"""Per-layer quantisation sensitivity of an ONNX model, measured on real data.

Two methods, both returning ``SensitivityResult`` with ``layers`` sorted most sensitive first:

- ``layer_sensitivity``: quantise **one** Conv/MatMul/Gemm at a time (ONNX Runtime static QDQ,
  ``nodes_to_quantize=[name]``, calibrated on the calibration split) and measure the model
  output's SNR, cosine, top-1 agreement and accuracy on the test split against the float model.
- ``quantized_layer_snr``: per-layer SNR of an already quantised model against its float source
  (from the localisation trace); ``snr_drop`` is the error each layer added to its input's.

Each layer is one ``LayerSensitivity``: ``score`` ranks it (higher = quantising it hurts more) and
``metric`` says what the score is. The mixed-precision search (``edgeport.compress.mixed``) keeps
the top-ranked layers in float; ``result.keep_float(...)`` / ``result.most_sensitive(k)`` pick them
by hand.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import UnsupportedError
from edgeport.verify import metrics
from edgeport.verify.align import align_inputs

__all__ = ["LayerSensitivity", "SensitivityResult", "calibration_ranking", "layer_sensitivity",
           "quantized_layer_snr"]

DEFAULT_OPS = ("Conv", "MatMul", "Gemm")


_ONE_AT_A_TIME = "relative L2 output error, only this layer quantised"
_ADDED_NOISE = "noise-to-signal ratio this layer added"


@dataclass
class LayerSensitivity:
    """How much quantising one layer costs. ``score`` ranks layers (higher = more sensitive); ``metric``
    names what it measures. The measured fields are filled by the method that made the ranking."""

    node: str
    op_type: str
    score: float
    metric: str
    snr_db: float | None = None  # model-output SNR (one-at-a-time) or this layer's own SNR (per-layer-snr)
    cosine: float | None = None
    max_abs: float | None = None
    top1_agreement: float | None = None
    accuracy: float | None = None
    accuracy_drop: float | None = None  # float accuracy - accuracy (positive = worse)
    snr_drop: float | None = None  # per-layer-snr: dB lost at this layer relative to the previous layer
    added_noise: float | None = None  # per-layer-snr: noise-to-signal ratio this layer added (sort key)
    rank: int = 0  # 1 = most sensitive


@dataclass
class SensitivityResult:
    model: str
    dataset: str
    method: str  # "one-at-a-time" | "per-layer-snr"
    samples: int
    layers: list[LayerSensitivity]
    float_accuracy: float | None = None
    quantized_model: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    kind: str = "sensitivity"

    def most_sensitive(self, k: int = 1) -> list[str]:
        """Names of the ``k`` most sensitive nodes."""
        return [x.node for x in self.layers[:k]]

    def keep_float(self, min_snr_db: float = 30.0, max_accuracy_drop: float | None = None) -> list[str]:
        """Nodes whose quantisation alone costs more than the given budget (candidates to keep in float)."""
        keep = []
        for x in self.layers:
            bad_acc = max_accuracy_drop is not None and x.accuracy_drop is not None and x.accuracy_drop > max_accuracy_drop
            if (x.snr_db is not None and x.snr_db < min_snr_db) or bad_acc:
                keep.append(x.node)
        return keep


def _artifact(model: Artifact | str | Path) -> Artifact:
    art = model if isinstance(model, Artifact) else load_artifact(model)
    if art.format is not Format.ONNX:
        raise UnsupportedError(f"per-layer sensitivity works on ONNX models, got {art.format.value}",
                               fix="convert the model to ONNX first (edgeport convert MODEL --to onnx)")
    return art


def _run(art: Artifact, data: Dataset) -> np.ndarray:
    from edgeport.runtimes.base import open_runtime, run_dataset

    with open_runtime(art, "onnxruntime") as rt:
        aligned = align_inputs(data, rt.input_specs(), "model")
        return next(iter(run_dataset(rt, aligned.dataset).values()))


class _Reader:
    """ONNX Runtime CalibrationDataReader over a dataset split."""

    def __init__(self, art: Artifact, data: Dataset, batch: int = 32) -> None:
        aligned = align_inputs(data, art.inputs, "model").dataset
        mapping = aligned.bind(art.inputs)
        self._batches = [{name: aligned.inputs[key][i:i + batch] for name, key in mapping.items()}
                         for i in range(0, aligned.count, batch)]
        self._it = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._batches)


def layer_sensitivity(model: Artifact | str | Path, data: Dataset, *, op_types: Sequence[str] = DEFAULT_OPS,
                      calibration_split: str = "calibration", test_split: str = "test",
                      max_samples: int | None = None, per_channel: bool = False,
                      activation_type: str = "int8", weight_type: str = "int8") -> SensitivityResult:
    """Quantise each Conv/MatMul/Gemm alone (static QDQ int8) and measure the output error it causes."""
    from edgeport._optional import require

    onnx = require("onnx", "onnx", "per-layer quantisation sensitivity")
    quant = require("onnxruntime.quantization", "onnx", "per-layer quantisation sensitivity")
    start = time.perf_counter()
    art = _artifact(model)
    graph = onnx.load_model(str(art.path), load_external_data=False).graph
    nodes = [(n.name, n.op_type) for n in graph.node if n.op_type in op_types and n.name]
    calib = data.split(calibration_split)
    test = data.split(test_split)
    if max_samples is not None:
        test = test.head(max_samples)
    ref = _run(art, test)
    float_acc = metrics.accuracy(ref, test.labels) if test.labels is not None else None
    result = SensitivityResult(model=str(art.path), dataset=data.name, method="one-at-a-time", samples=test.count,
                               layers=[], float_accuracy=float_acc)
    qtypes = {"int8": quant.QuantType.QInt8, "uint8": quant.QuantType.QUInt8}
    for attr in ("QInt16", "QUInt16"):
        if hasattr(quant.QuantType, attr):
            qtypes[attr[1:].lower()] = getattr(quant.QuantType, attr)
    if activation_type not in qtypes or weight_type not in qtypes:
        from edgeport.errors import ConfigError

        raise ConfigError(f"quantisation types {activation_type}/{weight_type} are not supported here",
                          fix=f"use one of: {', '.join(qtypes)}")
    reader = _Reader(art, calib)
    with tempfile.TemporaryDirectory(prefix="edgeport-sens-") as tmp:
        for name, op in nodes:
            out = Path(tmp) / f"q_{len(result.layers)}.onnx"
            reader.rewind()
            _quiet_quantize(quant, str(art.path), str(out), reader, quant_format=quant.QuantFormat.QDQ,
                                  activation_type=qtypes[activation_type], weight_type=qtypes[weight_type],
                                  per_channel=per_channel, nodes_to_quantize=[name])
            value = _run(load_artifact(out), test)
            acc = metrics.accuracy(value, test.labels) if test.labels is not None else None
            snr = metrics.snr_db(ref, value)
            snr = snr if np.isfinite(snr) else 999.0
            result.layers.append(LayerSensitivity(
                node=name, op_type=op, score=float(10.0 ** (-snr / 20.0)), metric=_ONE_AT_A_TIME,
                snr_db=snr, cosine=metrics.cosine(ref, value),
                max_abs=metrics.max_abs(ref, value), top1_agreement=metrics.topk_agreement(ref, value, 1),
                accuracy=acc, accuracy_drop=None if acc is None or float_acc is None else float_acc - acc))
    result.layers.sort(key=lambda x: (-x.score, -(x.accuracy_drop or 0.0)))
    for i, x in enumerate(result.layers, 1):
        x.rank = i
    result.notes.append(f"each layer quantised alone: ORT static QDQ {activation_type}/{weight_type}, calibrated on {calib.count} "
                        f"'{calibration_split}' samples, measured on {test.count} '{test_split}' samples")
    result.seconds = time.perf_counter() - start
    return result


def _quiet_quantize(quant: object, *args: object, **kwargs: object) -> None:
    """``quantize_static`` without its root-logger advice lines."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quant.quantize_static(*args, **kwargs)  # type: ignore[attr-defined]
    finally:
        root.setLevel(level)


def quantized_layer_snr(float_model: Artifact | str | Path, quantized_model: Artifact | str | Path, data: Dataset,
                        *, split: str = "test", max_samples: int = 16,
                        op_types: Sequence[str] | None = DEFAULT_OPS) -> SensitivityResult:
    """Per-layer SNR of a quantised model against its float source (largest SNR loss first)."""
    from edgeport.verify.localize import localize

    start = time.perf_counter()
    ref = float_model if isinstance(float_model, Artifact) else load_artifact(float_model)
    test = quantized_model if isinstance(quantized_model, Artifact) else load_artifact(quantized_model)
    loc = localize(ref, test, data, split=split, precision="int8", max_samples=max_samples)
    if not loc.available:
        raise UnsupportedError(f"per-layer SNR needs intermediate tensors: {loc.reason}",
                               fix="compare ONNX, TFLite or .pt2 models")
    layers: list[LayerSensitivity] = []
    prev: float | None = None
    prev_nsr = 0.0
    for x in loc.layers:
        nsr = 10.0 ** (-x.snr_db / 10.0)
        drop = None if prev is None else prev - x.snr_db
        added = nsr - prev_nsr
        prev, prev_nsr = x.snr_db, nsr
        if op_types is None or x.op_type in op_types:
            layers.append(LayerSensitivity(node=x.test_node, op_type=x.op_type, score=added, metric=_ADDED_NOISE,
                                           snr_db=x.snr_db, cosine=x.cosine, max_abs=x.max_abs, snr_drop=drop,
                                           added_noise=added))
    layers.sort(key=lambda x: -x.score)
    for i, x in enumerate(layers, 1):
        x.rank = i
    return SensitivityResult(model=str(ref.path), dataset=data.name, method="per-layer-snr", samples=loc.samples,
                             layers=layers, quantized_model=str(test.path), seconds=time.perf_counter() - start,
                             notes=[loc.summary()])


def calibration_ranking(artifact: Artifact, data: Dataset, options: object = None) -> list[LayerSensitivity]:
    """The mixed-precision search's ranking: ``layer_sensitivity`` measured on the *calibration* split
    (the test split only judges the budget), most sensitive first.

    ``options`` may carry ``per_channel``, ``activation_type`` and ``weight_type`` (the static
    quantisation options the search will use).
    """
    result = layer_sensitivity(artifact, data, test_split="calibration",
                               per_channel=bool(getattr(options, "per_channel", False)),
                               activation_type=str(getattr(options, "activation_type", "int8")),
                               weight_type=str(getattr(options, "weight_type", "int8")))
    return [dataclasses.replace(x, metric=f"{x.metric} (calibration split)") for x in result.layers]
