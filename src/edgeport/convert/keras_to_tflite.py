"""Keras (``.keras``) and TensorFlow SavedModel → TFLite with ``tf.lite.TFLiteConverter``.

Precisions: ``fp32``; ``fp16`` (fp16 weights); ``int8-dynamic`` (int8 weights, float
activations); ``int8`` (full-integer, calibrated with a representative dataset from the
dataset's calibration split; I/O int8 by default); ``int16x8`` (int16 activations, int8 weights —
the fix when int8 activations collapse accuracy; float I/O). A Keras 3 model is first exported to
a SavedModel (``model.export``), because ``from_keras_model`` does not handle Keras 3.
TensorFlow models are channels-last, so no layout changes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.convert import CONVERTERS
from edgeport.convert._tflite_common import (
    calibration_arrays,
    check_calibration,
    finish_tflite,
    unsupported_op_error,
)
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("tensorflow", "keras", "tf_keras")

__all__ = ["KerasToTflite", "SavedModelToTflite", "TfliteConverterOptions", "export_keras_saved_model"]


@dataclass(frozen=True)
class TfliteConverterOptions(ConvertOptions):
    io_dtype: str = "int8"  # int8 precision: int8 | uint8 | float32 model I/O
    calibration_samples: int = 256
    allow_flex: bool = False  # True: keep unsupported TF ops as Flex (Select TF ops): most devices cannot run them
    signature: str | None = None  # SavedModel signature key (None: serving_default)


def export_keras_saved_model(keras_path: Path, out_dir: Path) -> Path:
    """Export a ``.keras`` model to a SavedModel directory with a ``serving_default`` signature."""
    import keras

    model = keras.saving.load_model(str(keras_path), compile=False)
    model.export(str(out_dir), format="tf_saved_model", verbose=False)
    return out_dir


class _TfliteConverterBase(Converter):
    target = Format.TFLITE
    requires = ("tensorflow", "ai_edge_litert")
    extra = "tflite"
    Options = TfliteConverterOptions
    precisions = ("fp32", "fp16", "int8-dynamic", "int8", "int16x8")
    needs_data = ("int8", "int16x8")
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 10

    def _saved_model_dir(self, artifact: Artifact, work: Path) -> Path:
        return artifact.path

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, TfliteConverterOptions)
        if options.precision not in self.precisions:
            raise ConfigError(f"{self.name} does not produce {options.precision}",
                              fix=f"use one of: {', '.join(self.precisions)}")
        if options.io_dtype not in ("int8", "uint8", "float32"):
            raise ConfigError(f"io_dtype {options.io_dtype!r} is not int8, uint8 or float32",
                              fix="use io_dtype='int8' (default), 'uint8' or 'float32'")
        check_calibration(self.name, options.precision, self.needs_data, calibration, artifact.inputs)
        work = Path(tempfile.mkdtemp(prefix="tflite-converter-", dir=out.parent))
        try:
            saved = self._saved_model_dir(artifact, work)
            data = self._tflite_bytes(saved, artifact, options, calibration)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        out.write_bytes(data)
        meta: dict[str, Any] = {"precision": options.precision, "converter": "tf.lite.TFLiteConverter"}
        if options.allow_flex:
            meta["allow_flex"] = True
        return finish_tflite(artifact, out, input_layouts=[s.layout for s in artifact.inputs],
                             output_layouts=[s.layout for s in artifact.outputs], step_name=self.name,
                             metadata=meta)

    def _tflite_bytes(self, saved: Path, artifact: Artifact, options: TfliteConverterOptions,
                      calibration: Dataset | None) -> bytes:
        import tensorflow as tf

        keys = [options.signature] if options.signature else None
        conv = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=keys)
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        prec = options.precision
        if prec != "fp32":
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if prec == "fp16":
            conv.target_spec.supported_types = [tf.float16]
        if prec in ("int8", "int16x8"):
            assert calibration is not None
            arrays = calibration_arrays(calibration, artifact.inputs, options.calibration_samples)
            names = [s.name for s in artifact.inputs]

            def representative() -> Any:
                n = len(next(iter(arrays.values())))
                for i in range(n):
                    sample = {k: arrays[k][i:i + 1].astype(np.float32) for k in names}
                    yield sample if len(names) > 1 else [sample[names[0]]]

            conv.representative_dataset = representative
            if prec == "int8":
                ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                if options.io_dtype != "float32":
                    conv.inference_input_type = getattr(tf, options.io_dtype)
                    conv.inference_output_type = getattr(tf, options.io_dtype)
            else:
                ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        if options.allow_flex:
            ops = [*ops, tf.lite.OpsSet.SELECT_TF_OPS]
        conv.target_spec.supported_ops = ops
        try:
            return bytes(conv.convert())
        except Exception as exc:  # ConverterError and friends name the failing op in the message
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise unsupported_op_error(self.name, exc) from exc


@CONVERTERS.register
class SavedModelToTflite(_TfliteConverterBase):
    name = "saved-model-to-tflite"
    source = Format.SAVED_MODEL
    description = "tf.lite.TFLiteConverter: fp32, fp16, dynamic int8, full int8, int16x8"


@CONVERTERS.register
class KerasToTflite(_TfliteConverterBase):
    name = "keras-to-tflite"
    source = Format.KERAS
    requires = ("tensorflow", "keras", "ai_edge_litert")
    description = "Keras 3 → SavedModel → tf.lite.TFLiteConverter (same precisions)"

    def _saved_model_dir(self, artifact: Artifact, work: Path) -> Path:
        return export_keras_saved_model(artifact.path, work / "saved_model")
