"""ExecuTorch: ``.pte`` programs through ``executorch.runtime`` (method ``forward``).

I/O specs come from the method metadata (a ``.pte`` stores no tensor names: single inputs and
outputs are called ``input`` / ``output``, several ``input_0``…). Delegated vs portable operator
counts come from the artifact's conversion metadata when known: portable (non-delegated)
kernels are ~90× slower than XNNPACK ones here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._quiet import native_output
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import BackendError, ModelFileError, map_exceptions, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

_EXECUTORCH_ERRORS = (raised_in("executorch", "torch"), RuntimeError)  # pybindings raise RuntimeError

__all__ = ["ExecuTorchOptions", "ExecuTorchRuntime", "read_io"]

# c10::ScalarType codes used by the method metadata
_SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32",
                 7: "float64", 11: "bool", 15: "bfloat16"}
METHOD = "forward"


def _import_runtime() -> Any:
    """``executorch.runtime``, imported with torchao's and torch's import-time log warnings muted."""
    import logging

    from edgeport._optional import require

    loggers = [logging.getLogger(n) for n in ("torchao", "torch.utils._pytree")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        return require("executorch.runtime", "executorch", "loading an ExecuTorch .pte")
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _load_program(path: Path) -> Any:
    et_runtime = _import_runtime()
    with map_exceptions(dict.fromkeys(_EXECUTORCH_ERRORS, ModelFileError), f"{path}: ExecuTorch cannot load the "
                        "program", fix="re-export the .pte with the installed executorch version"):
        return et_runtime.Runtime.get().load_program(Path(path))


def _names(count: int, base: str) -> list[str]:
    return [base] if count == 1 else [f"{base}_{i}" for i in range(count)]


def _specs_from_meta(meta: Any) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    def spec(info: Any, name: str) -> TensorSpec:
        shape = tuple(int(d) for d in info.sizes())
        return TensorSpec(name, _SCALAR_TYPES.get(int(info.dtype()), "float32"), shape,
                          "NCHW" if len(shape) == 4 else None)

    n_in, n_out = meta.num_inputs(), meta.num_outputs()
    ins = tuple(spec(meta.input_tensor_meta(i), n) for i, n in zip(range(n_in), _names(n_in, "input")))
    outs = tuple(spec(meta.output_tensor_meta(i), n) for i, n in zip(range(n_out), _names(n_out, "output")))
    return ins, outs


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O specs of a ``.pte`` from its ``forward`` method metadata (shapes as memory-planned)."""
    program = _load_program(Path(path))
    if METHOD not in program.method_names:
        raise ModelFileError(f"{path}: the program has no '{METHOD}' method (has {sorted(program.method_names)})",
                             fix="export the model's forward")
    ins, outs = _specs_from_meta(program.metadata(METHOD))
    return ins, outs, {"methods": sorted(program.method_names)}


@dataclass(frozen=True)
class ExecuTorchOptions(RuntimeOptions):
    """``threads`` resizes ExecuTorch's process-wide thread pool (XNNPACK uses it)."""


def _threadpool() -> Any:
    try:
        from executorch.extension.pybindings import portable_lib
    except ImportError:
        return None
    return portable_lib


@RUNTIMES.register
class ExecuTorchRuntime(Runtime):
    name = "executorch"
    formats = frozenset({Format.EXECUTORCH})
    requires = ("executorch", "torch")
    extra = "executorch"
    io_readers = {Format.EXECUTORCH: "edgeport.runtimes.executorch:read_io"}
    device = DeviceSupport(profile_names=("executorch",), modules=("executorch",))
    Options = ExecuTorchOptions
    priority = 10
    description = "ExecuTorch runtime (pybindings; XNNPACK delegate, portable kernels elsewhere)"
    options: ExecuTorchOptions

    def _load(self) -> None:
        program = _load_program(self.artifact.path)
        if METHOD not in program.method_names:
            raise ModelFileError(f"{self.artifact.path}: the program has no '{METHOD}' method",
                                 fix="export the model's forward")
        self._threads: int | None = None
        self._prev_threads: int | None = None
        pool = _threadpool()
        counted = pool is not None and hasattr(pool, "_threadpool_get_thread_count")
        with native_output():  # the pool's cpuinfo probe and "Resetting threadpool" lines go to fd 2
            if self.options.threads and counted and hasattr(pool, "_unsafe_reset_threadpool"):
                self._prev_threads = int(pool._threadpool_get_thread_count())
                pool._unsafe_reset_threadpool(int(self.options.threads))
            if counted:
                self._threads = int(pool._threadpool_get_thread_count())
        with map_exceptions(dict.fromkeys(_EXECUTORCH_ERRORS, BackendError), f"ExecuTorch failed to load "
                            f"'{METHOD}' of {self.artifact.path.name}",
                            fix="a kernel or delegate the program needs is missing from this executorch build"):
            self._method = program.load_method(METHOD)
        self._program = program
        self._ins, self._outs = _specs_from_meta(program.metadata(METHOD))
        # memory is planned for the largest batch: bigger batches of a dynamic-batch program run in chunks
        self._capacity = self._ins[0].shape[0] if self._ins and self._ins[0].shape else None

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        # the artifact's own specs (names, dynamic batch) win when they describe the same tensors
        declared_in, declared_out = self.artifact.inputs, self.artifact.outputs
        ins = self._ins
        if len(declared_in) == len(ins) and all(len(d.shape) == len(s.shape) for d, s in zip(declared_in, ins)):
            ins = tuple(TensorSpec(d.name, s.dtype, d.shape, d.layout or s.layout, d.quant)
                        for d, s in zip(declared_in, ins))
        outs = self._outs
        if len(declared_out) == len(outs):
            outs = tuple(TensorSpec(d.name, s.dtype, d.shape if len(d.shape) == len(s.shape) else s.shape)
                         for d, s in zip(declared_out, outs))
        self._ins, self._outs = ins, outs
        return ins, outs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(feeds[self._ins[0].name]) if self._ins and self._ins[0].shape else 0
        cap = self._capacity
        if isinstance(cap, int) and cap > 0 and n > cap:
            parts = [self._execute({k: v[i:i + cap] for k, v in feeds.items()}) for i in range(0, n, cap)]
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return self._execute(feeds)

    def _execute(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])) for s in self._ins]
        with map_exceptions(dict.fromkeys(_EXECUTORCH_ERRORS, BackendError),
                            f"ExecuTorch failed running {self.artifact.path.name}",
                            fix="check the input shapes match the program's (planned) shapes"):
            values = self._method.execute(args)
        return {s.name: np.array(v.numpy() if hasattr(v, "numpy") else v)
                for s, v in zip(self._outs, values)}

    def _release(self) -> None:
        self._method = None
        self._program = None
        if self._prev_threads is not None:  # the pool is process-wide: give it back as found
            pool = _threadpool()
            if pool is not None:
                with native_output():
                    pool._unsafe_reset_threadpool(self._prev_threads)
            self._prev_threads = None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if self._open and self._threads is not None:
            info["threads"] = self._threads
        delegation = self.artifact.metadata.get("delegation")
        if isinstance(delegation, dict):
            info.update(delegate=self.artifact.metadata.get("delegate"),
                        delegated_nodes=delegation.get("delegated_nodes"),
                        portable_nodes=delegation.get("portable_nodes"),
                        portable_ops=delegation.get("portable_ops"))
            if delegation.get("portable_nodes"):
                info["note"] = "portable (non-delegated) kernels are ~90× slower than XNNPACK-delegated ones"
        else:
            info["delegation"] = "unknown (not converted by edgeport)"
        return info
