"""TFLite → ONNX with tf2onnx's TFLite frontend (``tf2onnx.convert.from_tflite``).

The ONNX model keeps the TFLite layout: NHWC inputs stay NHWC (no ``inputs_as_nchw``), so the same
data feeds both and verification pairs them as they are. Its inputs and outputs are renamed to the
names the TFLite model is fed by (its default signature's, e.g. ``image`` rather than the tensor
``serving_default_image:0``), so every later step and the verifier see one set of names.

``from_tflite`` converts with ``continue_on_error``: an operator it cannot map stays in the graph
under its TFLite name and only fails when a runtime loads the model. Such nodes are refused here,
named, before the file is written.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert._tflite_common import unsupported_op_error
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, raised_in
from edgeport.verify.tolerance import Tolerance

__all__ = ["TfliteToOnnx", "TfliteToOnnxOptions"]

_BACKEND = raised_in("tf2onnx", "tensorflow", "onnx")


@dataclass(frozen=True)
class TfliteToOnnxOptions(ConvertOptions):
    opset: int = 17


@CONVERTERS.register
class TfliteToOnnx(Converter):
    name = "tflite-to-onnx"
    source = Format.TFLITE
    target = Format.ONNX
    requires = ("tensorflow", "tf2onnx", "onnx")
    extra = "tflite"
    Options = TfliteToOnnxOptions
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 30
    description = "tf2onnx's TFLite frontend (from_tflite); NHWC I/O kept, renamed to the TFLite signature's names"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, TfliteToOnnxOptions)
        if options.precision != "fp32":
            raise ConfigError(f"{self.name} writes fp32 only", fix="convert to fp32, then apply an ONNX pass")
        if options.opset < 13:
            raise ConfigError(f"opset {options.opset} is too old", fix="use opset 13 or newer")
        model = self._export(artifact.path, options.opset)
        _refuse_unmapped(model, self.name)
        _rename_io(model, _feed_names(artifact.path))
        tmp = out.with_name(out.name + ".tmp")
        import onnx

        onnx.save(model, str(tmp))
        tmp.replace(out)
        result = load_artifact(out, format=Format.ONNX)
        by_name = {s.name: s for s in (*artifact.inputs, *artifact.outputs)}
        inputs = tuple(_with_layout(s, by_name) for s in result.inputs)
        outputs = tuple(_with_layout(s, by_name) for s in result.outputs)
        return artifact.derive(out, Format.ONNX, step=artifact.step or Step("convert", self.name), inputs=inputs,
                               outputs=outputs, metadata={"opset": options.opset, "converter": "tf2onnx (tflite)",
                                                          "layout": "channels-last kept from TFLite"})

    def _export(self, path: Path, opset: int) -> Any:
        import tf2onnx

        with warnings.catch_warnings():
            # tf2onnx reads the flatbuffer with TensorFlow's tf.lite.Interpreter, which warns it is deprecated
            warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
            try:
                model, _ = tf2onnx.convert.from_tflite(str(path), opset=opset)
            except Exception as exc:  # tf2onnx raises ValueError/KeyError naming the op it could not map
                if not _BACKEND(exc):
                    raise  # not the backend's failure: a bug keeps its traceback
                raise unsupported_op_error(self.name, exc) from exc
        return model


def _refuse_unmapped(model: Any, converter: str) -> None:
    """A ``ConversionError`` naming the ops tf2onnx left unmapped (kept under their TFLite names)."""
    import onnx

    unmapped = sorted({n.op_type for n in model.graph.node
                       if not onnx.defs.has(n.op_type, n.domain or "")})
    if unmapped:
        raise ConversionError(f"tf2onnx cannot map TFLite operator(s) {', '.join(unmapped)} to ONNX",
                              converter=converter, stage="convert",
                              fix="another path may support them, or replace those ops in the model")


def _feed_names(path: Path) -> dict[str, str]:
    """TFLite tensor name → the name the model is fed/read by (its default signature's names)."""
    from edgeport.graph.tflite_reader import feed_names

    return feed_names(path)


def _rename_io(model: Any, names: dict[str, str]) -> None:
    """Rename graph inputs/outputs (and every reference to them) to their TFLite feed names."""
    graph = model.graph
    mapping = {v.name: names[v.name] for v in (*graph.input, *graph.output)
               if v.name in names and names[v.name] != v.name}
    if not mapping:
        return
    taken = {t for n in graph.node for t in (*n.input, *n.output)} | {i.name for i in graph.initializer}
    mapping = {k: v for k, v in mapping.items() if v not in taken}  # never merge two tensors into one name
    for v in (*graph.input, *graph.output, *graph.value_info):
        v.name = mapping.get(v.name, v.name)
    for node in graph.node:
        node.input[:] = [mapping.get(t, t) for t in node.input]
        node.output[:] = [mapping.get(t, t) for t in node.output]


def _with_layout(spec: TensorSpec, source: dict[str, TensorSpec]) -> TensorSpec:
    src = source.get(spec.name)
    return spec if src is None or not src.layout else TensorSpec(spec.name, spec.dtype, spec.shape, src.layout,
                                                                 spec.quant)
