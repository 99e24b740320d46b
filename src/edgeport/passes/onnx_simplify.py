"""ONNX graph simplification with onnxslim (constant folding, dead code, fusions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError
from edgeport.passes import PASSES
from edgeport.passes._onnx import check_onnx, load_model, save_model
from edgeport.passes.base import Pass, PassOptions
from edgeport.verify.tolerance import Tolerance

__all__ = ["OnnxSimplify", "OnnxSimplifyOptions"]


@dataclass(frozen=True)
class OnnxSimplifyOptions(PassOptions):
    no_constant_folding: bool = False
    skip_fusion_patterns: tuple[str, ...] = ()


@PASSES.register
class OnnxSimplify(Pass):
    name = "onnx-simplify"
    formats = frozenset({Format.ONNX})
    requires = ("onnx", "onnxslim", "onnxruntime")
    extra = "onnx"
    Options = OnnxSimplifyOptions
    description = "onnxslim: constant folding, dead-node removal, operator fusion"

    def tolerance(self, options: PassOptions) -> Tolerance:
        return Tolerance(atol=1e-4, rtol=1e-3)

    def _apply(self, artifact: Artifact, out: Path, options: OnnxSimplifyOptions,
               data: Dataset | None) -> dict[str, Any]:
        import onnxslim

        model = load_model(artifact.path)
        before = len(model.graph.node)
        kwargs: dict[str, Any] = {"no_constant_folding": options.no_constant_folding}
        if options.skip_fusion_patterns:
            kwargs["skip_fusion_patterns"] = list(options.skip_fusion_patterns)
        try:
            slim = onnxslim.slim(model, **kwargs)
        except Exception as exc:  # onnxslim raises assorted errors on unusual graphs
            raise ConversionError(f"onnxslim failed: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
                                  converter=self.name, stage="simplify", fix="skip the simplify pass") from exc
        save_model(slim, out)
        return {"nodes_before": before, "nodes_after": len(slim.graph.node)}

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        return check_onnx(produced, self.name)
