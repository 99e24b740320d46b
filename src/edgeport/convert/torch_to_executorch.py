"""PyTorch (``torch.export`` .pt2) → ExecuTorch ``.pte`` with the XNNPACK delegate.

fp32: re-export at the program's batch, ``to_edge_transform_and_lower`` with the
``XnnpackPartitioner``, ``to_executorch``. int8: PT2E static quantisation with the XNNPACK
quantiser (symmetric, per-channel weights) calibrated on the dataset's calibration split
(``prepare_pt2e`` → calibrate → ``convert_pt2e``), then the same lowering.

Operators the delegate does not take run on ExecuTorch's portable kernels, which are ~90×
slower here; the artifact's metadata records how many operator nodes were delegated and which
stayed portable (``delegation``), and the runtime repeats it in ``describe()``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, DatasetError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("torch", "executorch", "torchao")  # failures of the export/lowering stack

__all__ = ["ExecuTorchConvertOptions", "TorchToExecuTorch", "delegation_summary"]

_DELEGATES = ("xnnpack", "none")


@dataclass(frozen=True)
class ExecuTorchConvertOptions(ConvertOptions):
    batch_size: int = 1  # the static batch baked into the program (memory is planned for it)
    dynamic_batch: bool = False  # True: batch dynamic in [1, max_batch] (shape ops may stay portable)
    max_batch: int = 64
    delegate: str = "xnnpack"  # xnnpack | none (portable kernels only, for comparison)
    per_channel: bool = True  # int8: per-channel weight scales
    calibration_samples: int = 256  # int8: calibration samples used (from the calibration split)


def _op_name(node: Any) -> str:
    target = node.target
    name = getattr(target, "__name__", None) or str(target)
    return str(name).replace("aten.", "").replace("dim_order_ops.", "")


def _is_plumbing(node: Any) -> bool:
    """getitem on a delegate's tuple output is bookkeeping, not a kernel."""
    import operator

    return node.target is operator.getitem


def delegation_summary(graph_module: Any) -> dict[str, Any]:
    """Operator nodes inside delegated subgraphs vs left on portable kernels, from the lowered edge graph."""
    delegated: Counter[str] = Counter()
    portable: Counter[str] = Counter()
    subgraphs = 0
    for node in graph_module.graph.nodes:
        if node.op == "get_attr" and node.name.startswith("lowered_module"):
            subgraphs += 1
            lowered = getattr(graph_module, node.target)
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function" and not _is_plumbing(inner):
                    delegated[_op_name(inner)] += 1
        elif node.op == "call_function" and not _is_plumbing(node) \
                and "executorch_call_delegate" not in str(node.target):
            portable[_op_name(node)] += 1
    total = sum(delegated.values()) + sum(portable.values())
    return {"delegated_nodes": sum(delegated.values()), "portable_nodes": sum(portable.values()),
            "delegated_subgraphs": subgraphs,
            "delegated_fraction": (sum(delegated.values()) / total) if total else 0.0,
            "portable_ops": dict(sorted(portable.items())), "delegated_ops": dict(sorted(delegated.items()))}


_OP_RE = re.compile(r"(aten[.:]+[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)")


def _error(exc: BaseException, stage: str, converter: str) -> ConversionError:
    text = " ".join(str(exc).split())
    ops = list(dict.fromkeys(_OP_RE.findall(text)))
    if ops and any(w in text.lower() for w in ("not supported", "unsupported", "no kernel", "missing operator",
                                                "not aten canonical", "core aten", "cannot")):
        return ConversionError(f"ExecuTorch cannot lower operator(s) {', '.join(ops[:5])} ({text[:200]})",
                               converter=converter, stage=stage,
                               fix="replace the operator in the model or register a custom kernel")
    return ConversionError(f"{type(exc).__name__}: {text[:300] or type(exc).__name__}", converter=converter,
                           stage=stage, fix="check the model lowers with executorch.exir.to_edge_transform_and_lower")


@CONVERTERS.register
class TorchToExecuTorch(Converter):
    name = "torch-to-executorch"
    source = Format.TORCH_EXPORT
    target = Format.EXECUTORCH
    requires = ("executorch", "torch", "torchao")
    extra = "executorch"
    Options = ExecuTorchConvertOptions
    precisions = ("fp32", "int8")
    needs_data = ("int8",)
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 10
    description = "torch.export → to_edge_transform_and_lower (XNNPACK) → .pte; int8 via PT2E XNNPACKQuantizer"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        import torch

        from edgeport.runtimes.torch import load_exported_program

        assert isinstance(options, ExecuTorchConvertOptions)
        self._check(options)
        specs = artifact.inputs
        if not specs:
            raise ConversionError("the .pt2 declares no inputs", converter=self.name, stage="export",
                                  fix="export the model with example inputs")
        batch = options.batch_size
        # a dynamic dim needs an example of at least 2 (torch.export specialises 0/1)
        example_batch = max(2, min(batch, options.max_batch)) if options.dynamic_batch else batch
        example = tuple(torch.zeros(s.concrete_shape(example_batch), dtype=getattr(torch, s.dtype)) for s in specs)
        dynamic = None
        if options.dynamic_batch:
            dim = torch.export.Dim("batch", min=1, max=options.max_batch)
            dynamic = tuple({0: dim} for _ in specs)
        module = load_exported_program(artifact.path).module()
        try:
            program = torch.export.export(module, example, dynamic_shapes=dynamic)
        except Exception as exc:  # torch.export raises many types
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _error(exc, "export", self.name) from exc
        meta: dict[str, Any] = {"precision": options.precision, "delegate": options.delegate,
                                "batch": "dynamic" if options.dynamic_batch else batch}
        if options.precision == "int8":
            program, qmeta = self._quantize(program, example, dynamic, specs, calibration, options)
            meta.update(qmeta)
        edge = self._lower(program, options)
        meta["delegation"] = delegation_summary(edge.exported_program().graph_module)
        try:
            et_program = edge.to_executorch()
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _error(exc, "to_executorch", self.name) from exc
        tmp = out.with_name(f".{out.name}.partial")
        try:
            with tmp.open("wb") as fh:
                et_program.write_to_file(fh)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        shape_batch: int | str = "batch" if options.dynamic_batch else batch
        inputs = tuple(TensorSpec(s.name, s.dtype, (shape_batch, *s.shape[1:]), s.layout) for s in specs)
        outputs = tuple(TensorSpec(s.name, s.dtype, (shape_batch, *s.shape[1:]) if s.shape else s.shape)
                        for s in artifact.outputs)
        meta["max_batch"] = options.max_batch if options.dynamic_batch else batch
        return artifact.derive(out, Format.EXECUTORCH, step=Step("convert", self.name), inputs=inputs,
                               outputs=outputs, metadata=meta)

    @staticmethod
    def _check(options: ExecuTorchConvertOptions) -> None:
        if options.delegate not in _DELEGATES:
            raise ConfigError(f"delegate {options.delegate!r} is not supported", fix=f"use one of: {', '.join(_DELEGATES)}")
        if options.batch_size < 1 or options.max_batch < 1:
            raise ConfigError("batch_size and max_batch must be ≥ 1", fix="use e.g. batch_size=1")
        if options.dynamic_batch and options.max_batch < 2:
            raise ConfigError("a dynamic batch needs max_batch ≥ 2", fix="raise max_batch or use a static batch_size")
        if options.precision == "int8" and options.delegate != "xnnpack":
            raise ConfigError("int8 ExecuTorch programs need the XNNPACK delegate",
                              fix="use delegate='xnnpack' (portable kernels have no quantised conv/linear)")

    def _quantize(self, program: Any, example: tuple[Any, ...], dynamic: Any, specs: tuple[TensorSpec, ...],
                  calibration: Dataset | None, options: ExecuTorchConvertOptions) -> tuple[Any, dict[str, Any]]:
        import numpy as np
        import torch
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        if calibration is None or calibration.count == 0:
            raise DatasetError("int8 ExecuTorch conversion needs calibration samples", fix="pass --data D")
        quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=options.per_channel))
        try:
            prepared = prepare_pt2e(program.module(), quantizer)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _error(exc, "prepare_pt2e", self.name) from exc
        cal = calibration.head(options.calibration_samples)
        step = options.max_batch if options.dynamic_batch else options.batch_size
        used = 0
        with torch.no_grad():
            for feeds in cal.batches(specs, step):
                n = len(next(iter(feeds.values())))
                if n != step and not options.dynamic_batch:
                    continue  # the program's batch is static: a short last batch cannot run
                prepared(*[torch.from_numpy(np.ascontiguousarray(feeds[s.name]).astype(s.dtype)) for s in specs])
                used += n
        if used == 0:
            raise DatasetError(f"no full calibration batch of {step} samples", fix="use a smaller batch_size")
        try:
            converted = convert_pt2e(prepared)
            quantized = torch.export.export(converted, example, dynamic_shapes=dynamic)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _error(exc, "convert_pt2e", self.name) from exc
        return quantized, {"quantization": "pt2e-xnnpack-symmetric", "per_channel": options.per_channel,
                           "calibration_samples": used}

    def _lower(self, program: Any, options: ExecuTorchConvertOptions) -> Any:
        from executorch.exir import to_edge_transform_and_lower

        partitioners = []
        if options.delegate == "xnnpack":
            from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

            partitioners.append(XnnpackPartitioner())
        try:
            return to_edge_transform_and_lower(program, partitioner=partitioners or None)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _error(exc, "to_edge_transform_and_lower", self.name) from exc
