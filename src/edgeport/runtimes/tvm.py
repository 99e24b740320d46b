"""Apache TVM: a compiled Relax module (``<name>.tvm/`` with ``module.so`` + ``manifest.json``).

The module is loaded with ``tvm.runtime.load_module`` and run by ``relax.VirtualMachine`` on
``tvm.cpu()``. Shapes are static (TVM compiles for concrete shapes): the batch size is fixed
when compiling and recorded in the manifest.

Threads: TVM sizes its thread pool once, when it is first used, from ``TVM_NUM_THREADS``
(unset: TVM assumes 2-way SMT on x86 and uses cores / 2, i.e. 1 thread on a 2-core host). Later,
``runtime.config_threadpool`` can *lower* the thread count but never raise it above that size
(measured). So when ``TVM_NUM_THREADS`` is unset this runtime sets it to the CPU count before the
first load in the process (``threads=None`` then means all cores), and ``threads=N`` lowers the
pool with ``config_threadpool``; ``describe()["threads_actual"]`` reports what TVM really uses.

An untuned module (no MetaSchedule records) runs TVM's default schedules and is slow — often
far slower than ONNX Runtime (measured on ResNet-18: ≈ 1.8 s untuned vs ≈ 33 ms in ORT; ≈ 72 ms
after a short tuning run). ``describe()`` says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec, spec_from_dict, spec_to_dict
from edgeport.errors import BackendError, ModelFileError, map_exceptions, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

_TVM_ERRORS = raised_in("tvm", "tvm_ffi")


def _last_line(exc: BaseException) -> str:
    """TVM's messages end with the error itself, after its own traceback."""
    text = str(exc).strip().splitlines()
    return (text or ["?"])[-1][:300]

__all__ = ["MANIFEST", "MODULE", "UNTUNED_WARNING", "TvmOptions", "TvmRuntime", "read_io", "read_manifest",
           "write_manifest"]

MANIFEST = "manifest.json"
MODULE = "module.so"
MANIFEST_VERSION = 1
UNTUNED_WARNING = ("untuned TVM module: default schedules are slow (ResNet-18 measured ≈ 1.8 s untuned vs "
                   "≈ 33 ms in ONNX Runtime, ≈ 72 ms after a short tuning run) — tune with MetaSchedule: "
                   "edgeport convert ... --to tvm --option tune_seconds=N")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a compiled TVM module directory (checks the module file is there)."""
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise ModelFileError(f"{path}: no {MANIFEST} (not a compiled edgeport TVM module)",
                             fix="convert the ONNX model with: edgeport convert model.onnx --to tvm")
    if not (path / MODULE).is_file():
        raise ModelFileError(f"{path}: {MODULE} is missing", fix="re-run the TVM conversion")
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{manifest}: unreadable manifest ({exc})", fix="re-run the TVM conversion") from exc
    if not isinstance(data, dict) or "inputs" not in data or "outputs" not in data:
        raise ModelFileError(f"{manifest}: manifest has no inputs/outputs", fix="re-run the TVM conversion")
    return data


def write_manifest(path: Path, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...],
                   info: dict[str, Any]) -> None:
    data = {"version": MANIFEST_VERSION, "module": MODULE, "inputs": [spec_to_dict(s) for s in inputs],
            "outputs": [spec_to_dict(s) for s in outputs], **info}
    (Path(path) / MANIFEST).write_text(json.dumps(data, indent=2, default=str))


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O reader for ``Format.TVM`` (reads the manifest; does not import TVM)."""
    data = read_manifest(path)
    ins = tuple(spec_from_dict(s) for s in data["inputs"])
    outs = tuple(spec_from_dict(s) for s in data["outputs"])
    meta = {k: v for k, v in data.items() if k not in ("inputs", "outputs")}
    return ins, outs, meta


@dataclass(frozen=True)
class TvmOptions(RuntimeOptions):
    pass


def _threadpool(threads: int | None) -> tuple[int, int]:
    """Apply ``threads`` to TVM's pool as far as TVM allows; returns (count before, count TVM now reports)."""
    import tvm_ffi

    num_threads = tvm_ffi.get_global_func("runtime.NumThreads")
    if "TVM_NUM_THREADS" not in os.environ:  # size the pool (if not used yet) so later requests can be met
        os.environ["TVM_NUM_THREADS"] = str(max(int(threads or 0), os.cpu_count() or 1))
    before = int(num_threads())
    if threads:
        tvm_ffi.get_global_func("runtime.config_threadpool")(0, int(threads))
    return before, int(num_threads())


@RUNTIMES.register
class TvmRuntime(Runtime):
    name = "tvm"
    formats = frozenset({Format.TVM})
    requires = ("tvm",)
    extra = "tvm"
    io_readers = {Format.TVM: "edgeport.runtimes.tvm:read_io"}
    device = DeviceSupport(modules=("tvm",),
                           host_bound="a TVM module is compiled for this host's CPU: recompile it for the device")
    Options = TvmOptions
    priority = 10
    description = "Apache TVM Relax VM on the host CPU (compiled module; untuned modules are slow)"

    def _load(self) -> None:
        from edgeport._optional import require

        tvm = require("tvm", "tvm", "running a TVM module")
        from tvm import relax

        self._manifest = read_manifest(self.artifact.path)
        self._threads_before, self._threads = _threadpool(self.options.threads)
        with map_exceptions({_TVM_ERRORS: lambda exc: BackendError(  # TVM raises its own error types
                f"TVM failed to load {self.artifact.path.name}: {_last_line(exc)}",
                fix="re-run the TVM conversion on this host (modules are host-specific)")}):
            lib = tvm.runtime.load_module(str(self.artifact.path / MODULE))
            self._device = tvm.cpu(0)
            self._vm = relax.VirtualMachine(lib, self._device)
            self._main = self._vm["main"]
        self._tensor = getattr(tvm.runtime, "tensor", None) or tvm.nd.array

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        ins = tuple(spec_from_dict(s) for s in self._manifest["inputs"])
        outs = tuple(spec_from_dict(s) for s in self._manifest["outputs"])
        return ins, outs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        args = [self._tensor(feeds[s.name], self._device) for s in self._inputs]
        with map_exceptions({_TVM_ERRORS: lambda exc: BackendError(
                f"TVM failed running {self.artifact.path.name}: {_last_line(exc)}",
                fix="check the input shapes match the compiled (static) shapes")}):
            result = self._main(*args)
        values = _flatten(result)
        return {s.name: v for s, v in zip(self._outputs, values)}

    def _release(self) -> None:
        self._main = None
        self._vm = None
        if self.options.threads and self._threads_before != self._threads:
            _threadpool(self._threads_before)  # give the process its previous thread count back

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        manifest = getattr(self, "_manifest", None) or read_manifest(self.artifact.path)
        tuning = manifest.get("tuning") or {}
        info.update(target=manifest.get("target"), tuned=bool(tuning.get("tuned")),
                    threads_actual=getattr(self, "_threads", None), executor="relax.VirtualMachine")
        if not tuning.get("tuned"):
            info["warning"] = UNTUNED_WARNING
        elif tuning.get("tasks_with_records", 0) < tuning.get("tasks", 0):
            info["warning"] = (f"partly tuned: {tuning.get('tasks_with_records')} of {tuning.get('tasks')} kernels "
                               "have tuning records; the rest use slow default schedules")
        return info


def _flatten(result: Any) -> list[np.ndarray]:
    if hasattr(result, "numpy"):
        return [result.numpy()]
    values: list[np.ndarray] = []
    for item in result:  # a tuple (ffi Array) of tensors, possibly nested
        values.extend(_flatten(item))
    return values
