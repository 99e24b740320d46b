"""ONNX Runtime dynamic INT8: weights quantised offline, activations quantised at run time.

No calibration data needed. On conv nets on x86 CPUs this is usually *slower* than fp32
(3–11× measured): prefer ``onnx-quantize-static`` (QDQ) there; it is the right choice for
MatMul-heavy models (transformers, RNNs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.passes import PASSES
from edgeport.passes._onnx import check_onnx, ensure_node_names, load_model, save_model
from edgeport.passes.base import Pass, PassOptions, sweep
from edgeport.passes.onnx_quantize_static import preprocess_model, quant_type

__all__ = ["OnnxQuantizeDynamic", "OnnxQuantizeDynamicOptions"]


@dataclass(frozen=True)
class OnnxQuantizeDynamicOptions(PassOptions):
    weight_type: str = "int8"  # int8 | uint8
    per_channel: bool = False
    reduce_range: bool = False
    op_types: tuple[str, ...] | None = None  # None: every op type ORT quantises dynamically
    nodes_to_exclude: tuple[str, ...] = ()
    preprocess: bool = True  # quant_pre_process (shape inference + fusions) first


@PASSES.register
class OnnxQuantizeDynamic(Pass):
    name = "onnx-quantize-dynamic"
    formats = frozenset({Format.ONNX})
    requires = ("onnx", "onnxruntime")
    extra = "onnx"
    Options = OnnxQuantizeDynamicOptions
    precision = "int8-dynamic"  # int8 weights, activations quantised at run time
    # Swept on purpose although it is usually slower on conv nets: the study measures it and says so.
    sweeps = (sweep("int8-dynamic"),)
    description = "ORT dynamic int8 (weights offline, activations at run time; slow for conv nets on CPU)"

    def _apply(self, artifact: Artifact, out: Path, options: OnnxQuantizeDynamicOptions,
               data: Dataset | None) -> dict[str, Any]:
        from onnxruntime.quantization import quantize_dynamic

        warnings: list[str] = []
        model = ensure_node_names(load_model(artifact.path))
        if options.preprocess:
            model, w = preprocess_model(model, out.parent)
            warnings += w
        quantize_dynamic(model, str(out), op_types_to_quantize=list(options.op_types) if options.op_types else None,
                         per_channel=options.per_channel, reduce_range=options.reduce_range,
                         weight_type=quant_type(options.weight_type, "weight_type"),
                         nodes_to_exclude=list(options.nodes_to_exclude) or None)
        save_model(load_model(out), out)  # re-save without external data
        return {"warnings": warnings, "quantization": "dynamic"}

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        return check_onnx(produced, self.name)
