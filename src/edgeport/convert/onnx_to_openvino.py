"""ONNX → OpenVINO IR (``ov.convert_model`` + ``ov.save_model``): fp32, fp16 weights, or NNCF int8."""

from __future__ import annotations

from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert._openvino import OpenVINOConvertOptions, OpenVINOConverter, input_shapes
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format

__all__ = ["OnnxToOpenVINO"]


@CONVERTERS.register
class OnnxToOpenVINO(OpenVINOConverter):
    name = "onnx-to-openvino"
    source = Format.ONNX
    source_label = "ONNX"
    priority = 10
    description = "openvino.convert_model on the ONNX file; fp32 / fp16 weights / NNCF int8 (calibrated)"

    def _read(self, ov: Any, artifact: Artifact, options: OpenVINOConvertOptions) -> Any:
        specs = artifact.inputs
        if specs and all(s.shape for s in specs):
            return ov.convert_model(str(artifact.path), input=input_shapes(ov, specs, options.dynamic_batch))
        return ov.convert_model(str(artifact.path))
