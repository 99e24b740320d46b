"""PyTorch eager: an ``nn.Module`` or a ``torch.export`` ExportedProgram (``.pt2``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import BackendError, ModelFileError, map_exceptions, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

__all__ = ["TorchRuntime", "load_exported_program", "read_io"]

_TORCH_DTYPES = {"torch.float32": "float32", "torch.float16": "float16", "torch.bfloat16": "bfloat16",
                 "torch.float64": "float64", "torch.int8": "int8", "torch.uint8": "uint8",
                 "torch.int32": "int32", "torch.int64": "int64", "torch.bool": "bool"}


def load_exported_program(path: Path) -> Any:
    from edgeport._optional import require

    torch = require("torch", "torch", "loading a .pt2 PyTorch export")
    with map_exceptions({raised_in("torch"): ModelFileError}, f"{path}: cannot load torch.export archive",
                        fix="save the model with torch.export.save(torch.export.export(model, args), path)"):
        return torch.export.load(str(path))  # torch raises many types for a bad archive


def _specs_from_program(program: Any) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    sig = program.graph_signature
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    user_inputs = list(sig.user_inputs)

    def spec_of(node_name: str, public: str) -> TensorSpec:
        node = placeholders.get(node_name)
        val = node.meta.get("val") if node is not None else None
        return _spec_from_val(public, val)

    ins = tuple(spec_of(n, n) for n in user_inputs)
    output_node = next(n for n in program.graph.nodes if n.op == "output")
    outs_meta = output_node.args[0]
    outs = []
    for i, arg in enumerate(outs_meta if isinstance(outs_meta, (list, tuple)) else [outs_meta]):
        val = getattr(arg, "meta", {}).get("val") if arg is not None else None
        outs.append(_spec_from_val(f"output_{i}" if len(outs_meta) > 1 else "output", val))
    return ins, tuple(outs)


def _spec_from_val(name: str, val: Any) -> TensorSpec:
    if val is None or not hasattr(val, "shape"):
        return TensorSpec(name, "float32", ())
    shape = tuple(int(d) if str(d).lstrip("-").isdigit() else str(d) for d in val.shape)
    layout = "NCHW" if len(shape) == 4 else None
    return TensorSpec(name, _TORCH_DTYPES.get(str(val.dtype), "float32"), shape, layout)


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    program = load_exported_program(path)
    ins, outs = _specs_from_program(program)
    return ins, outs, {"source_framework": "pytorch"}


@dataclass(frozen=True)
class TorchOptions(RuntimeOptions):
    pass


@RUNTIMES.register
class TorchRuntime(Runtime):
    name = "torch"
    formats = frozenset({Format.TORCH_EXPORT})
    requires = ("torch",)
    extra = "torch"
    io_readers = {Format.TORCH_EXPORT: "edgeport.runtimes.torch:read_io"}
    device = DeviceSupport(profile_names=("torch",), modules=("torch",))
    Options = TorchOptions
    priority = 10
    description = "PyTorch eager (ExportedProgram.module())"

    def _load(self) -> None:
        import torch

        program = load_exported_program(self.artifact.path)
        self._program = program
        self._module = program.module()
        self._ins, self._outs = _specs_from_program(program)
        self._prev_threads = torch.get_num_threads()
        if self.options.threads:
            torch.set_num_threads(self.options.threads)

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        return self._ins, self._outs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        args = [torch.from_numpy(feeds[s.name]) for s in self._ins]
        with map_exceptions({raised_in("torch"): BackendError}, f"PyTorch failed running {self.artifact.path.name}",
                            fix="check the input data"), torch.no_grad():
            result = self._module(*args)
        values = result if isinstance(result, (list, tuple)) else [result]
        return {s.name: v.detach().numpy() for s, v in zip(self._outs, values)}

    def _release(self) -> None:
        import torch

        torch.set_num_threads(self._prev_threads)
        self._module = None
        self._program = None
