"""TensorFlow: a SavedModel's serving signature, or a Keras 3 ``.keras`` model (reference runtime).

Used as the reference side when verifying Keras/SavedModel → TFLite/ONNX conversions. TensorFlow
models are channels-last: rank-4 inputs are recorded as NHWC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import BackendError, ConfigError, ModelFileError, map_exceptions, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

_TF_ERRORS = raised_in("tensorflow", "keras", "tf_keras")

__all__ = ["TensorFlowOptions", "TensorFlowRuntime", "load_signature", "read_io"]

_LAYOUTS = {3: "NWC", 4: "NHWC", 5: "NDHWC"}


def _spec(name: str, shape: Any, dtype: Any) -> TensorSpec:
    dims = list(shape) if shape is not None and getattr(shape, "rank", 0) is not None else []
    out = tuple((d if d is not None else ("batch" if i == 0 else None)) for i, d in enumerate(
        [getattr(d, "value", d) for d in dims]))
    np_dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype)).name
    return TensorSpec(name, np_dtype, out, _LAYOUTS.get(len(out)))


def load_signature(path: Path, key: str | None = None) -> Any:
    """The concrete function of a SavedModel signature (``serving_default`` or the only one)."""
    from edgeport._optional import require

    tf = require("tensorflow", "tflite", "loading a TensorFlow SavedModel")
    with map_exceptions({_TF_ERRORS: ModelFileError}, f"{path}: cannot load SavedModel",  # TF raises many types
                        fix="save it with tf.saved_model.save(...)"):
        loaded = tf.saved_model.load(str(path))
    sigs = dict(loaded.signatures)
    if not sigs:
        raise ModelFileError(f"{path}: SavedModel has no signatures", fix="save it with signatures=...")
    if key is None:
        key = "serving_default" if "serving_default" in sigs else next(iter(sigs))
    if key not in sigs:
        raise ConfigError(f"{path} has no signature {key!r}", fix=f"use one of: {', '.join(sigs)}")
    return loaded, sigs[key]


def _keras_model(path: Path) -> Any:
    from edgeport._optional import require

    keras = require("keras", "tflite", "loading a Keras model")
    with map_exceptions({_TF_ERRORS: ModelFileError}, f"{path}: cannot load Keras model",
                        fix="save it with model.save('model.keras')"):
        return keras.saving.load_model(str(path), compile=False)


def _keras_specs(model: Any) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    ins = tuple(_spec(t.name, t.shape, t.dtype) for t in model.inputs)
    outs = tuple(_spec(f"output_{i}", t.shape, t.dtype) for i, t in enumerate(model.outputs))
    return ins, outs


def _signature_specs(fn: Any) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    ins = tuple(_spec(k, v.shape, v.dtype) for k, v in sorted(fn.structured_input_signature[1].items()))
    outs = tuple(_spec(k, v.shape, v.dtype) for k, v in sorted(fn.structured_outputs.items()))
    return ins, outs


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    p = Path(path)
    if p.is_dir():
        _, fn = load_signature(p)
        ins, outs = _signature_specs(fn)
        return ins, outs, {"source_framework": "tensorflow"}
    ins, outs = _keras_specs(_keras_model(p))
    return ins, outs, {"source_framework": "keras"}


@dataclass(frozen=True)
class TensorFlowOptions(RuntimeOptions):
    signature: str | None = None  # SavedModel signature key


@RUNTIMES.register
class TensorFlowRuntime(Runtime):
    name = "tensorflow"
    formats = frozenset({Format.SAVED_MODEL, Format.KERAS})
    requires = ("tensorflow",)
    extra = "tflite"
    io_readers = {Format.SAVED_MODEL: "edgeport.runtimes.tensorflow:read_io",
                  Format.KERAS: "edgeport.runtimes.tensorflow:read_io"}
    device = DeviceSupport(profile_names=("tensorflow",), modules=("tensorflow",))
    Options = TensorFlowOptions
    priority = 50
    description = "TensorFlow eager: SavedModel serving signature or Keras model (reference)"
    options: TensorFlowOptions

    def _load(self) -> None:
        import tensorflow as tf

        if self.options.threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.options.threads)
            except RuntimeError:
                pass  # already initialised in this process: keep the running setting
        path = Path(self.artifact.path)
        if self.artifact.format is Format.SAVED_MODEL:
            self._holder, self._fn = load_signature(path, self.options.signature)
            self._keras = None
            self._specs = _signature_specs(self._fn)
        else:
            self._keras = _keras_model(path)
            self._specs = _keras_specs(self._keras)

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        return self._specs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        with map_exceptions({_TF_ERRORS: BackendError}, f"TensorFlow failed running {self.artifact.path.name}",
                            fix="check the input data"):  # TF raises InvalidArgumentError and friends
            if self._keras is not None:
                args = [feeds[s.name] for s in self._specs[0]]
                result = self._keras(args if len(args) > 1 else args[0], training=False)
                values = result if isinstance(result, (list, tuple)) else [result]
                return {s.name: np.asarray(v) for s, v in zip(self._specs[1], values)}
            result = self._fn(**{k: tf.constant(v) for k, v in feeds.items()})
            return {k: np.asarray(result[k]) for k in (s.name for s in self._specs[1])}

    def _release(self) -> None:
        self._keras = None
        self._fn = None
        self._holder = None
