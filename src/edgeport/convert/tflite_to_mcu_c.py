"""int8 ``.tflite`` → a C99 project for a Cortex-M part (``Format.MCU_C``): no interpreter on the device.

The model is read with edgeport's own flatbuffer reader; each op is lowered to a kernel written in
this project with TFLite's integer semantics (``_mcu_lower``), activations share one static arena
laid out by edgeport's planner, and the project builds with ``arm-none-eabi-gcc`` for the device's
core (Cortex-M4/M7/M55 flags from its profile) and with the host ``gcc`` for verification. ONNX
and PyTorch models reach it through the planner's int8 TFLite path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeport.convert import CONVERTERS
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step
from edgeport.core.formats import Format
from edgeport.core.tensors import spec_to_dict
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, UnsupportedError
from edgeport.verify.tolerance import Tolerance

__all__ = ["McuCOptions", "TfliteToMcuC"]


@dataclass(frozen=True)
class McuCOptions(ConvertOptions):
    precision: str = "int8"
    device: str = "stm32h743"  # a Cortex-M device profile (edgeport devices)


def _batched(spec: dict[str, object]) -> dict[str, object]:
    """The spec with a symbolic batch: the harness runs any number of samples per launch."""
    shape = list(spec["shape"])  # type: ignore[call-overload]
    if shape:
        shape[0] = "batch"
    return {**spec, "shape": shape}


@CONVERTERS.register
class TfliteToMcuC(Converter):
    name = "tflite-to-mcu-c"
    source = Format.TFLITE
    target = Format.MCU_C
    requires = ("ai_edge_litert",)
    extra = "tflite"
    Options = McuCOptions
    precisions = ("int8",)
    default_tolerance = Tolerance(atol=0.0, rtol=0.0)
    timeout_s = 300.0
    description = "int8 TFLite to a self-contained C99 project (static arena, const weights) for Cortex-M"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, McuCOptions)
        from edgeport.convert._mcu_project import write_project
        from edgeport.core.target import get_target
        from edgeport.graph.tflite_reader import read_constants, read_graph

        if out.exists():
            raise ConfigError(f"{out} already exists", fix="pass a new output directory with -o")
        target = get_target(options.device)
        if not target.is_mcu:
            raise UnsupportedError(f"{target.id} is not a microcontroller profile", fix="pass --device stm32h743 "
                                   "(or another Cortex-M part: edgeport devices)")
        graph = read_graph(artifact.path)
        if len(artifact.inputs) != 1 or len(artifact.outputs) != 1:
            raise UnsupportedError(f"{artifact.path.name} has {len(artifact.inputs)} inputs and "
                                   f"{len(artifact.outputs)} outputs; model_invoke takes one of each",
                                   fix="run it with TFLite Micro instead")
        io = {"inputs": [_batched(spec_to_dict(s)) for s in artifact.inputs],
              "outputs": [_batched(spec_to_dict(s)) for s in artifact.outputs]}
        manifest = write_project(graph, read_constants(artifact.path), target, out, artifact.path.name, io)
        from edgeport.runtimes.mcu import read_io

        inputs, outputs, _ = read_io(out)
        return artifact.derive(out, Format.MCU_C, step=Step("convert", self.name), inputs=inputs,
                               outputs=outputs,
                               metadata={"device": manifest["device"], "cpu": manifest["cpu"],
                                         "arena_bytes": manifest["arena_bytes"]})
