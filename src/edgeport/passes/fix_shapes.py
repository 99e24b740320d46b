"""Fix dynamic input dims of an ONNX model (ONNX Runtime's ``make_dynamic_shape_fixed`` logic).

NNAPI, Core ML NeuralNetwork, the Apple Neural Engine, QNN, the Edge TPU, TFLite Micro and the
TFLite GPU delegate reject dynamic shapes (``edgeport check`` names them). The pass sets the input
dims (by symbolic name, or a whole shape per input; every other dynamic dim becomes 1), re-runs
shape inference, and — as every pass — verifies the result against its parent on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.passes import PASSES
from edgeport.passes.base import Pass, PassOptions
from edgeport.verify.tolerance import Tolerance

__all__ = ["FixShapes", "FixShapesOptions"]


@dataclass(frozen=True)
class FixShapesOptions(PassOptions):
    dims: dict[str, int] = field(default_factory=dict)  # symbolic dim name -> value ("batch": 1)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # input name -> full shape


@PASSES.register
class FixShapes(Pass):
    name = "fix-shapes"
    formats = frozenset({Format.ONNX})
    requires = ("onnx", "onnxruntime")
    extra = "onnx"
    Options = FixShapesOptions
    description = "fix dynamic input dims (batch → 1) so NNAPI / Core ML / NPUs accept the model"

    def tolerance(self, options: PassOptions) -> Tolerance:
        return Tolerance(atol=1e-5, rtol=1e-4)

    def _apply(self, artifact: Artifact, out: Path, options: FixShapesOptions,
               data: Dataset | None) -> dict[str, Any]:
        from edgeport.analysis.dynamic import dynamic_report, fix_dynamic_shapes

        before = dynamic_report(artifact, targets=["host"])
        fix_dynamic_shapes(artifact, out, {k: list(v) for k, v in options.shapes.items()} or None,
                           dims=dict(options.dims))
        return {"fixed_dims": [f"{d.tensor}[{d.axis}]={d.name}" for d in before.dims]}
