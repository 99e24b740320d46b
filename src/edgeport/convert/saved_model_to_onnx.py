"""TensorFlow SavedModel / Keras → ONNX with ``tf2onnx``.

``tf2onnx.convert.from_keras`` fails on Keras 3, so both sources go through the SavedModel's
serving signature wrapped in a ``tf.function`` (``from_function``). The ONNX model keeps the
TensorFlow layout (NHWC inputs stay NHWC); the specs say so.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeport.convert import CONVERTERS
from edgeport.convert._tflite_common import unsupported_op_error
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("tf2onnx", "tensorflow", "onnx")

__all__ = ["KerasToOnnx", "SavedModelToOnnx", "Tf2OnnxOptions"]


@dataclass(frozen=True)
class Tf2OnnxOptions(ConvertOptions):
    opset: int = 17
    signature: str | None = None  # SavedModel signature key (None: serving_default)


class _Tf2OnnxBase(Converter):
    target = Format.ONNX
    requires = ("tensorflow", "tf2onnx", "onnx")
    extra = "tflite"
    Options = Tf2OnnxOptions
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 30

    def _saved_model_dir(self, artifact: Artifact, work: Path) -> Path:
        return artifact.path

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, Tf2OnnxOptions)
        if options.precision != "fp32":
            raise ConfigError(f"{self.name} writes fp32 only", fix="convert to fp32, then apply an ONNX pass")
        if options.opset < 13:
            raise ConfigError(f"opset {options.opset} is too old", fix="use opset 13 or newer")
        work = Path(tempfile.mkdtemp(prefix="tf2onnx-", dir=out.parent))
        try:
            self._export(self._saved_model_dir(artifact, work), out, options)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result = load_artifact(out, format=Format.ONNX)
        by_name = {s.name: s for s in artifact.inputs}
        inputs = tuple(TensorSpec(s.name, s.dtype, s.shape, (by_name.get(s.name) or src).layout, s.quant)
                       for s, src in zip(result.inputs, artifact.inputs))
        outputs = tuple(TensorSpec(s.name, s.dtype, s.shape, src.layout, s.quant)
                        for s, src in zip(result.outputs, artifact.outputs))
        return artifact.derive(out, Format.ONNX, step=artifact.step or Step("convert", self.name), inputs=inputs,
                               outputs=outputs, metadata={"opset": options.opset, "converter": "tf2onnx",
                                                          "layout": "channels-last kept from TensorFlow"})

    def _export(self, saved: Path, out: Path, options: Tf2OnnxOptions) -> None:
        import tensorflow as tf
        import tf2onnx

        from edgeport.runtimes.tensorflow import load_signature

        holder, fn = load_signature(saved, options.signature)
        named = sorted(fn.structured_input_signature[1].items())
        names = [k for k, _ in named]
        spec = [tf.TensorSpec(v.shape, v.dtype, name=k) for k, v in named]

        @tf.function(input_signature=spec)
        def serving(*args):  # type: ignore[no-untyped-def]
            return fn(**dict(zip(names, args)))

        tmp = out.with_name(out.name + ".tmp")
        try:
            tf2onnx.convert.from_function(serving, input_signature=spec, opset=options.opset, output_path=str(tmp))
        except Exception as exc:  # tf2onnx raises ValueError/RuntimeError naming the unsupported op
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            tmp.unlink(missing_ok=True)
            raise unsupported_op_error(self.name, exc) from exc
        tmp.replace(out)
        del holder


@CONVERTERS.register
class SavedModelToOnnx(_Tf2OnnxBase):
    name = "saved-model-to-onnx"
    source = Format.SAVED_MODEL
    description = "tf2onnx from the SavedModel serving signature (from_function)"


@CONVERTERS.register
class KerasToOnnx(_Tf2OnnxBase):
    name = "keras-to-onnx"
    source = Format.KERAS
    requires = ("tensorflow", "keras", "tf2onnx", "onnx")
    description = "Keras 3 → SavedModel → tf2onnx (from_function; from_keras fails on Keras 3)"

    def _saved_model_dir(self, artifact: Artifact, work: Path) -> Path:
        from edgeport.convert.keras_to_tflite import export_keras_saved_model

        return export_keras_saved_model(artifact.path, work / "saved_model")
