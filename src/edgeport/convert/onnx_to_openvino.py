"""ONNX → OpenVINO IR (``ov.convert_model`` + ``ov.save_model``): fp32, fp16 weights, or NNCF int8.

The ONNX file is prepared first (``_onnx_prepare``: the user's shapes, constant inputs baked in,
onnxslim, constant ``If`` folded). Dims still unknown stay dynamic: OpenVINO converts them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert._onnx_prepare import prepare_for
from edgeport.convert._openvino import OpenVINOConvertOptions, OpenVINOConverter, input_shapes
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format

__all__ = ["OnnxToOpenVINO"]


@CONVERTERS.register
class OnnxToOpenVINO(OpenVINOConverter):
    name = "onnx-to-openvino"
    source = Format.ONNX
    priority = 10
    description = "openvino.convert_model on the ONNX file; fp32 / fp16 weights / NNCF int8 (calibrated)"

    def _prepare(self, artifact: Artifact, options: OpenVINOConvertOptions, work: Path) -> tuple[Artifact, dict[str, Any]]:
        return prepare_for(artifact, work, backend="OpenVINO", batch=None if options.dynamic_batch else 1,
                           static=False)

    def _read(self, ov: Any, artifact: Artifact, options: OpenVINOConvertOptions) -> Any:
        specs = artifact.inputs
        if specs and all(s.shape for s in specs):
            return ov.convert_model(str(artifact.path), input=input_shapes(ov, specs, options.dynamic_batch))
        return ov.convert_model(str(artifact.path))
