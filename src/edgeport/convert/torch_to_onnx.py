"""PyTorch (``torch.export`` .pt2) → ONNX with ``torch.onnx.export``.

The dynamo exporter is tried first; when it fails the TorchScript exporter runs on the
program's module. Weights are kept inside the ``.onnx`` file (no ``.onnx.data`` side file).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from edgeport.convert import CONVERTERS
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("torch", "onnxscript", "onnx", "onnx_ir")

__all__ = ["TorchToOnnx", "TorchToOnnxOptions"]


@dataclass(frozen=True)
class TorchToOnnxOptions(ConvertOptions):
    opset: int = 18
    exporter: str = "auto"  # auto (dynamo, then torchscript) | dynamo | torchscript
    dynamic_batch: bool = True


@CONVERTERS.register
class TorchToOnnx(Converter):
    name = "torch-to-onnx"
    source = Format.TORCH_EXPORT
    target = Format.ONNX
    requires = ("torch", "onnx", "onnxscript")
    extra = "torch"
    Options = TorchToOnnxOptions
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 10
    description = "torch.onnx.export (dynamo, TorchScript fallback), opset ≥ 17"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        import torch

        from edgeport.runtimes.torch import load_exported_program

        assert isinstance(options, TorchToOnnxOptions)
        if options.opset < 17:
            from edgeport.errors import ConfigError

            raise ConfigError(f"opset {options.opset} is too old", fix="use opset 17 or newer")
        program = load_exported_program(artifact.path)
        specs = artifact.inputs
        example = tuple(torch.zeros(s.concrete_shape(2), dtype=getattr(torch, s.dtype)) for s in specs)
        names = [s.name for s in specs]
        out_names = [s.name for s in artifact.outputs] or None
        errors: list[str] = []
        exporters = ["dynamo", "torchscript"] if options.exporter == "auto" else [options.exporter]
        for exporter in exporters:
            try:
                if exporter == "dynamo":
                    dyn = None
                    if options.dynamic_batch:
                        dyn = {n: {0: torch.export.Dim("batch", min=1, max=4096)} for n in names}
                    onnx_program = torch.onnx.export(program, example, dynamo=True, opset_version=options.opset,
                                                     input_names=names, output_names=out_names,
                                                     dynamic_shapes=dyn if dyn else None, external_data=False,
                                                     verbose=False)
                    onnx_program.save(str(out), external_data=False)
                else:
                    dyn_axes = {n: {0: "batch"} for n in [*names, *(out_names or [])]} if options.dynamic_batch else None
                    torch.onnx.export(program.module(), example, str(out), dynamo=False,
                                      opset_version=options.opset, input_names=names, output_names=out_names,
                                      dynamic_axes=dyn_axes)
                break
            except Exception as exc:  # exporter failures come in many types
                if not _BACKEND(exc):
                    raise  # not the backend's failure: a bug keeps its traceback
                errors.append(f"{exporter}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__}")
        else:
            raise ConversionError("; ".join(errors), converter=self.name, stage="export",
                                  fix="check the model exports with torch.onnx.export(..., dynamo=True)")
        result = load_artifact(out)
        inputs = tuple(
            s if src is None else type(s)(s.name, s.dtype, s.shape, src.layout, s.quant)
            for s, src in zip(result.inputs, [*specs, *([None] * len(result.inputs))]))
        return artifact.derive(out, Format.ONNX, step=Step("convert", self.name, dataclasses.asdict(options)),
                               inputs=inputs, outputs=result.outputs,
                               metadata={"opset": options.opset, "exporter": exporter})
