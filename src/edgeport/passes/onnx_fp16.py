"""ONNX → fp16 weights and compute (onnxconverter-common), float32 inputs/outputs kept by default.

On CPU ONNX Runtime runs most fp16 kernels by casting back to fp32: the file halves, the
latency does not improve (measure it). Useful for GPUs/NPUs with native fp16.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.passes import PASSES
from edgeport.passes._onnx import check_onnx, load_model, save_model
from edgeport.passes.base import Pass, PassOptions, sweep

__all__ = ["OnnxFp16", "OnnxFp16Options"]


@dataclass(frozen=True)
class OnnxFp16Options(PassOptions):
    keep_io_types: bool = True  # inputs/outputs stay float32 (Cast nodes at the boundary)
    op_block_list: tuple[str, ...] | None = None  # op types kept in fp32 (None: the library's default list)
    node_block_list: tuple[str, ...] = ()  # node names kept in fp32


@PASSES.register
class OnnxFp16(Pass):
    name = "onnx-fp16"
    formats = frozenset({Format.ONNX})
    requires = ("onnx", "onnxconverter_common", "onnxruntime")
    extra = "onnx"
    Options = OnnxFp16Options
    precision = "fp16"
    sweeps = (sweep("fp16"),)
    description = "float16 weights and compute (onnxconverter-common), float32 I/O kept"

    def _apply(self, artifact: Artifact, out: Path, options: OnnxFp16Options, data: Dataset | None) -> dict[str, Any]:
        from onnxconverter_common import float16

        model = load_model(artifact.path)
        kwargs: dict[str, Any] = {"keep_io_types": options.keep_io_types,
                                  "node_block_list": list(options.node_block_list) or None}
        if options.op_block_list is not None:
            kwargs["op_block_list"] = list(options.op_block_list)
        import warnings

        with warnings.catch_warnings(record=True) as caught:  # one summary line instead of one per weight
            warnings.simplefilter("always")
            converted = float16.convert_float_to_float16(model, **kwargs)
        save_model(converted, out)
        clamped = [w for w in caught if "truncated" in str(w.message)]
        if clamped:
            return {"warnings": [f"{len(clamped)} weight values outside the float16 range were clamped "
                                 f"(e.g. {str(clamped[0].message)[:80]})"]}
        return {}

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        return check_onnx(produced, self.name)
