"""ONNX Runtime static quantisation: calibrated activations, QDQ or QOperator form.

Calibrates on the dataset's ``calibration`` split through a ``CalibrationDataReader``
(MinMax, Entropy or Percentile), per-channel or per-tensor weights, int8/uint8 (or int16
activations for ``int16x8``), with ``nodes_to_exclude`` keeping chosen nodes in float (the
mixed-precision search uses that). QDQ int8 is the fast ONNX Runtime path on x86 CPUs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError
from edgeport.passes import PASSES
from edgeport.passes._onnx import calibration_reader, check_onnx, ensure_node_names, load_model, save_model
from edgeport.passes.base import Pass, PassOptions, sweep

__all__ = ["OnnxQuantizeStatic", "OnnxQuantizeStaticOptions", "preprocess_model", "quant_type"]

_QUANT_TYPES = {"int8": "QInt8", "uint8": "QUInt8", "int16": "QInt16", "uint16": "QUInt16",
                "int4": "QInt4", "uint4": "QUInt4"}
_FORMATS = ("qdq", "qoperator")
_CALIBRATION = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


@dataclass(frozen=True)
class OnnxQuantizeStaticOptions(PassOptions):
    quant_format: str = "qdq"  # qdq | qoperator
    activation_type: str = "int8"  # int8 | uint8 | int16 | uint16 (int16 activations = int16x8)
    weight_type: str = "int8"  # int8 | uint8 | int16 | int4 | uint4
    per_channel: bool = True
    reduce_range: bool = False
    calibration: str = "minmax"  # minmax | entropy | percentile
    percentile: float = 99.999  # for calibration="percentile"
    op_types: tuple[str, ...] | None = None  # None: every op type ORT quantises
    nodes_to_exclude: tuple[str, ...] = ()  # kept in float
    preprocess: bool = True  # quant_pre_process (shape inference + BN/Conv fusions) first
    min_calibration_samples: int = 100  # fewer → warning
    max_calibration_samples: int = 512  # cap (calibration time grows with samples)


def quant_type(name: str, field: str) -> Any:
    from onnxruntime.quantization import QuantType

    if name not in _QUANT_TYPES:
        raise ConfigError(f"{field} {name!r} is not supported", fix=f"use one of: {', '.join(_QUANT_TYPES)}")
    return getattr(QuantType, _QUANT_TYPES[name])


def preprocess_model(model: Any, work_dir: Path) -> tuple[Any, list[str]]:
    """``quant_pre_process`` (symbolic shape inference, fusions); on failure the model as-is + a warning."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "pre.onnx"
        save_model(model, src)
        try:
            quant_pre_process(str(src), str(dst), skip_symbolic_shape=False)
        except Exception as exc:  # pre-processing is an optimisation; any failure falls back
            try:
                quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
            except Exception:
                return model, [f"quant_pre_process failed ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}); "
                               "quantised without it"]
        return ensure_node_names(load_model(dst)), []


@PASSES.register
class OnnxQuantizeStatic(Pass):
    name = "onnx-quantize-static"
    formats = frozenset({Format.ONNX})
    requires = ("onnx", "onnxruntime")
    extra = "onnx"
    Options = OnnxQuantizeStaticOptions
    needs_data = True
    precision = "int8"
    # QDQ per-channel int8 is the fast ORT path; int16 activations move the model to opset 21 and run
    # ~2.5x slower than fp32 on CPU, so the study builds that point only when asked for int16x8.
    sweeps = (sweep("int8", quant_format="qdq", per_channel=True),
              sweep("int16x8", activation_type="int16", weight_type="int8", default=False))
    description = "ORT static int8 (calibrated; QDQ or QOperator; per-channel; MinMax/Entropy/Percentile)"

    def precision_of(self, options: PassOptions) -> str:
        assert isinstance(options, OnnxQuantizeStaticOptions)
        return "int16x8" if options.activation_type in ("int16", "uint16") else "int8"

    def pre_check(self, artifact: Artifact, options: OnnxQuantizeStaticOptions, data: Dataset | None) -> list[str]:
        if options.quant_format not in _FORMATS:
            raise ConfigError(f"quant_format {options.quant_format!r} is not supported", fix="use qdq or qoperator")
        if options.calibration not in _CALIBRATION:
            raise ConfigError(f"calibration {options.calibration!r} is not supported",
                              fix=f"use one of: {', '.join(_CALIBRATION)}")
        quant_type(options.activation_type, "activation_type")
        quant_type(options.weight_type, "weight_type")
        if options.quant_format == "qoperator" and options.activation_type != options.weight_type \
                and "int16" in options.activation_type:
            raise ConfigError("int16 activations need the QDQ format", fix="use quant_format='qdq'")
        assert data is not None
        cal = data.split("calibration")
        if cal.count < options.min_calibration_samples:
            return [f"calibration set has {cal.count} samples, fewer than the minimum "
                    f"{options.min_calibration_samples}: activation ranges may be unrepresentative "
                    "(add samples or lower min_calibration_samples)"]
        return []

    def _apply(self, artifact: Artifact, out: Path, options: OnnxQuantizeStaticOptions,
               data: Dataset | None) -> dict[str, Any]:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

        assert data is not None
        warnings: list[str] = []
        model = ensure_node_names(load_model(artifact.path))
        if options.preprocess:
            model, w = preprocess_model(model, out.parent)
            warnings += w
        cal = data.split("calibration").head(options.max_calibration_samples)
        reader = calibration_reader(artifact, cal)
        extra: dict[str, Any] = {}
        if options.calibration == "percentile":
            extra["CalibPercentile"] = options.percentile
        if options.activation_type in ("int16", "uint16") or options.weight_type in ("int16", "int4", "uint4"):
            extra["UseQDQContribOps"] = options.quant_format == "qdq" and options.weight_type in ("int16",)
        names = {n.name for n in model.graph.node}
        unknown = [n for n in options.nodes_to_exclude if n not in names]
        if unknown:
            raise ConfigError(f"nodes_to_exclude names unknown node(s) {unknown[:5]}",
                              fix="use node names of the (pre-processed) model, e.g. from the sensitivity report")
        try:
            quantize_static(model, str(out), reader,
                            quant_format=QuantFormat.QDQ if options.quant_format == "qdq" else QuantFormat.QOperator,
                            op_types_to_quantize=list(options.op_types) if options.op_types else None,
                            per_channel=options.per_channel, reduce_range=options.reduce_range,
                            activation_type=quant_type(options.activation_type, "activation_type"),
                            weight_type=quant_type(options.weight_type, "weight_type"),
                            nodes_to_exclude=list(options.nodes_to_exclude) or None,
                            calibrate_method=getattr(CalibrationMethod, _CALIBRATION[options.calibration]),
                            extra_options=extra)
        except (ValueError, RuntimeError, KeyError) as exc:
            raise ConversionError(f"quantize_static failed: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
                                  converter=self.name, stage="quantize",
                                  fix="try quant_format='qdq', per_channel=False or another calibration") from exc
        save_model(load_model(out), out)
        return {"warnings": warnings, "quantization": f"static-{options.quant_format}",
                "calibration_samples": cal.count, "float_nodes": list(options.nodes_to_exclude)}

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        return check_onnx(produced, self.name)
