"""PyTorch (``torch.export`` .pt2) → TFLite with ``litert-torch`` (no TensorFlow needed).

Precisions: ``fp32``; ``int8-dynamic`` (int8 weights, float activations: PT2E dynamic
quantisation); ``int8`` (static PT2E quantisation calibrated on the dataset's calibration split;
the model's inputs and outputs become int8 with a scale/zero-point, which the LiteRT runtime
applies automatically). litert-torch keeps the PyTorch layout: inputs stay NCHW, unless
``channels_last_io`` wraps the model so its image inputs are NHWC (recorded on the specs, so
verification transposes the data it feeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.convert import CONVERTERS
from edgeport.convert._tflite_common import (
    calibration_arrays,
    check_calibration,
    finish_tflite,
    unsupported_op_error,
)
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("litert_torch", "torch", "torchao", "tensorflow", "ai_edge_litert", "ai_edge_quantizer")

__all__ = ["TorchToTflite", "TorchToTfliteOptions"]


@dataclass(frozen=True)
class TorchToTfliteOptions(ConvertOptions):
    per_channel: bool = True  # per-channel weight scales for int8
    calibration_samples: int = 128  # at most this many calibration samples (int8; fed one at a time)
    dynamic_batch: bool = False  # False: batch fixed to 1 (the usual on-device shape)
    channels_last_io: bool = False  # True: rank 3-5 inputs become channels-last (NHWC), as on-device code feeds them


@CONVERTERS.register
class TorchToTflite(Converter):
    name = "torch-to-tflite"
    source = Format.TORCH_EXPORT
    target = Format.TFLITE
    requires = ("torch", "litert_torch", "ai_edge_litert")
    extra = "tflite"
    Options = TorchToTfliteOptions
    precisions = ("fp32", "int8-dynamic", "int8")
    needs_data = ("int8",)
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 10
    description = "litert-torch: fp32, dynamic-range int8, static int8 (PT2E, calibrated)"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, TorchToTfliteOptions)
        if options.precision not in self.precisions:
            raise ConfigError(f"{self.name} does not produce {options.precision}",
                              fix=f"use one of: {', '.join(self.precisions)}")
        check_calibration(self.name, options.precision, self.needs_data, calibration, artifact.inputs)
        import torch

        from edgeport.runtimes.torch import load_exported_program

        program = load_exported_program(artifact.path)
        specs = artifact.inputs
        batch = 2 if options.dynamic_batch else 1
        example = tuple(torch.zeros(s.concrete_shape(batch), dtype=getattr(torch, s.dtype)) for s in specs)
        module = program.module()
        layouts = [s.layout for s in specs]
        idx: list[int] = []
        if options.channels_last_io:
            import litert_torch

            idx = [i for i, s in enumerate(specs) if 3 <= len(s.shape) <= 5]
            module = litert_torch.to_channel_last_io(module, args=idx)
            example = tuple(e.permute(0, *range(2, e.dim()), 1).contiguous() if i in idx else e
                            for i, e in enumerate(example))
            layouts = [_channels_last(s.layout, len(s.shape)) if i in idx else s.layout for i, s in enumerate(specs)]
        try:
            model = self._lower(module, example, options, calibration, artifact,
                                set(idx) if options.channels_last_io else set())
            model.export(str(out))
        except Exception as exc:  # litert-torch raises RuntimeError/ValueError/... for unsupported graphs
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise unsupported_op_error(self.name, exc) from exc
        return finish_tflite(artifact, out, input_layouts=layouts, source_names=True, step_name=self.name,
                             metadata={"precision": options.precision, "converter": "litert-torch",
                                       "batch": "dynamic" if options.dynamic_batch else 1,
                                       "channels_last_io": options.channels_last_io})

    def _lower(self, module: Any, example: tuple[Any, ...], options: TorchToTfliteOptions,
               calibration: Dataset | None, artifact: Artifact, channels_last: set[int]) -> Any:
        import litert_torch
        import torch

        dyn = None
        if options.dynamic_batch:
            batch_dim = torch.export.Dim("batch", min=1, max=4096)
            dyn = tuple({0: batch_dim} for _ in example)
        if options.precision == "fp32":
            return litert_torch.convert(module, example, dynamic_shapes=dyn)
        from litert_torch.quantize import pt2e_quantizer as pq
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e import quantize_pt2e

        dynamic = options.precision == "int8-dynamic"
        quantizer = pq.PT2EQuantizer().set_global(
            pq.get_symmetric_quantization_config(is_per_channel=options.per_channel, is_dynamic=dynamic))
        captured = torch.export.export(module, example, dynamic_shapes=dyn).module()
        prepared = quantize_pt2e.prepare_pt2e(captured, quantizer)
        if dynamic:
            prepared(*example)  # dynamic quantisation needs no data: observers see the weights only
        else:
            assert calibration is not None
            arrays = calibration_arrays(calibration, artifact.inputs, options.calibration_samples)
            n = len(next(iter(arrays.values())))
            step = 1 if not options.dynamic_batch else 32
            for i, spec in enumerate(artifact.inputs):
                if i in channels_last:  # the wrapped model takes channels-last data
                    arr = arrays[spec.name]
                    arrays[spec.name] = np.ascontiguousarray(arr.transpose(0, *range(2, arr.ndim), 1))
            with torch.no_grad():
                for i in range(0, n, step):
                    prepared(*(torch.from_numpy(arrays[s.name][i:i + step]) for s in artifact.inputs))
        quantized = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
        return litert_torch.convert(quantized, example, dynamic_shapes=dyn,
                                    quant_config=QuantConfig(pt2e_quantizer=quantizer))


def _channels_last(layout: str | None, rank: int) -> str:
    if layout and len(layout) == rank and layout[1] == "C":
        return layout[0] + layout[2:] + "C"
    return {3: "NWC", 4: "NHWC", 5: "NDHWC"}[rank]
