"""PyTorch helpers shared by pruning, distillation and QAT: counts, export, measured stats."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.compress.measure import Latency, accuracy_on, measure_latency
from edgeport.core.artifact import Artifact, load_artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError

__all__ = ["ModelStats", "training_threads", "count_params", "export_onnx", "model_stats", "sample_shape"]


@dataclass
class ModelStats:
    params: int
    nonzero_params: int
    sparsity: float  # zero fraction of Conv/Linear weights
    size_bytes: int  # the deployable ONNX file
    gzip_bytes: int  # the same file gzip-compressed (where unstructured sparsity pays off)
    accuracy: float | None  # on the test split, run by ONNX Runtime
    latency: Latency | None  # batch 1, this host


@contextmanager
def training_threads(threads: int = 1) -> Iterator[None]:
    """Train small networks single-threaded: on a shared CPU extra torch threads cost far more
    than they give (measured 20× slower with 2 threads on a loaded 2-core host) and 1 thread is
    deterministic."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def count_params(module: Any) -> tuple[int, int]:
    total = sum(p.numel() for p in module.parameters())
    nonzero = sum(int((p != 0).sum()) for p in module.parameters())
    return total, nonzero


def weight_sparsity(module: Any) -> float:
    import torch.nn as nn

    weights = [m.weight for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d, nn.Linear))]
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / total if total else 0.0


def sample_shape(data: Dataset) -> tuple[int, ...]:
    return tuple(next(iter(data.inputs.values())).shape[1:])


def export_onnx(module: Any, data: Dataset, out: Path, *, input_name: str = "input",
                exporter: str = "torchscript") -> Artifact:
    """Export an ``nn.Module`` to ONNX (dynamic batch, weights inside the file), written atomically.

    The TorchScript exporter is the default here because it takes about a second for small
    networks; ``exporter="dynamo"`` uses ``torch.onnx.export(dynamo=True)``.
    """
    import os

    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.zeros((2, *sample_shape(data)), dtype=torch.float32),)
    module = module.eval()
    with tempfile.TemporaryDirectory(prefix="edgeport-export-", dir=out.parent) as tmp:
        tmp_out = Path(tmp) / out.name
        try:
            if exporter == "dynamo":
                dyn = ({0: torch.export.Dim("batch", min=1, max=4096)},)
                program = torch.onnx.export(module, example, dynamo=True, input_names=[input_name],
                                            output_names=["output"], dynamic_shapes=dyn, external_data=False,
                                            verbose=False)
                program.save(str(tmp_out), external_data=False)
            else:
                torch.onnx.export(module, example, str(tmp_out), dynamo=False, input_names=[input_name],
                                  output_names=["output"], opset_version=17,
                                  dynamic_axes={input_name: {0: "batch"}, "output": {0: "batch"}})
        except Exception as exc:  # exporter failures come in many types
            raise ConversionError(f"ONNX export failed: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
                                  converter=f"torch-onnx-{exporter}", stage="export",
                                  fix="check the model exports with torch.onnx.export") from exc
        os.replace(tmp_out, out)
    return load_artifact(out)


def gzip_size(path: Path) -> int:
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=6))


def model_stats(module: Any, artifact: Artifact, data: Dataset, *, threads: int = 1,
                measure_speed: bool = True) -> ModelStats:
    params, nonzero = count_params(module)
    return ModelStats(params=params, nonzero_params=nonzero, sparsity=weight_sparsity(module),
                      size_bytes=artifact.size_bytes(), gzip_bytes=gzip_size(artifact.path),
                      accuracy=accuracy_on(artifact, data),
                      latency=measure_latency(artifact, data, threads=threads) if measure_speed else None)


def as_module(model: Any) -> Any:
    """An ``nn.Module`` from a module or a ``torch.export`` ``.pt2`` path (its unlifted module)."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    from edgeport.runtimes.torch import load_exported_program

    return load_exported_program(Path(model)).module()
