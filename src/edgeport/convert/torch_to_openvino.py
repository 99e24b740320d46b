"""PyTorch (``torch.export`` .pt2) → OpenVINO IR directly through the PyTorch frontend.

``ov.convert_model`` takes the ``ExportedProgram``; input shapes come from the artifact's specs
(an exported program's placeholders carry no static shape for OpenVINO) and the outputs are
renamed after the source's outputs.
"""

from __future__ import annotations

from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert._openvino import OpenVINOConvertOptions, OpenVINOConverter, input_shapes
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format

__all__ = ["TorchToOpenVINO"]


@CONVERTERS.register
class TorchToOpenVINO(OpenVINOConverter):
    name = "torch-to-openvino"
    source = Format.TORCH_EXPORT
    requires = ("openvino", "torch")
    priority = 10
    description = "openvino.convert_model on the ExportedProgram; fp32 / fp16 weights / NNCF int8 (calibrated)"

    def _read(self, ov: Any, artifact: Artifact, options: OpenVINOConvertOptions) -> Any:
        from edgeport.runtimes.torch import load_exported_program

        program = load_exported_program(artifact.path)
        specs = artifact.inputs
        if specs and all(s.shape for s in specs):
            return ov.convert_model(program, input=input_shapes(ov, specs, options.dynamic_batch))
        return ov.convert_model(program)
