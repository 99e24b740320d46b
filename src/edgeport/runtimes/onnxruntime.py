"""ONNX Runtime: threads, graph optimisation level, execution providers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import BackendError, MissingDependencyError, ModelFileError, map_exceptions, one_line, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes._isolated import load_in_child_first
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

__all__ = ["GPU_PROVIDERS", "PROVIDERS", "OnnxRuntime", "OnnxRuntimeOptions", "probe_load"]

_ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
    "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(bool)": "bool", "tensor(bfloat16)": "bfloat16",
}
_OPT_LEVELS = ("disable", "basic", "extended", "all")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
# short names accepted for an execution provider (``edgeport bench --provider cuda``)
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


def probe_load(path: Path, variant: str) -> None:
    """Create a CPU session at graph optimisation level ``variant``, nothing else: the child-process first load."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = _levels(ort)[variant]
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _levels(ort: Any) -> dict[str, Any]:
    return {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}


@dataclass(frozen=True)
class OnnxRuntimeOptions(RuntimeOptions):
    graph_optimization: str = "all"  # disable | basic | extended | all
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    inter_op_threads: int | None = 1
    sequential: bool = True


@RUNTIMES.register
class OnnxRuntime(Runtime):
    name = "onnxruntime"
    formats = frozenset({Format.ONNX})
    requires = ("onnxruntime",)
    extra = "onnx"
    io_readers = {Format.ONNX: "edgeport.graph.onnx_reader:read_io"}
    device = DeviceSupport(profile_names=("onnxruntime",), modules=("onnxruntime",))
    Options = OnnxRuntimeOptions
    loads_from_memory = True
    priority = 10
    description = "ONNX Runtime (CPU by default; CUDA/TensorRT providers where installed)"
    options: OnnxRuntimeOptions

    def _load(self) -> None:
        import onnxruntime as ort

        opts = self.options
        if opts.graph_optimization not in _OPT_LEVELS:
            from edgeport.errors import ConfigError

            raise ConfigError(f"graph_optimization {opts.graph_optimization!r} is not a level",
                              fix=f"use one of: {', '.join(_OPT_LEVELS)}")
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = _levels(ort)[opts.graph_optimization]
        if opts.threads:
            so.intra_op_num_threads = opts.threads
        if opts.inter_op_threads:
            so.inter_op_num_threads = opts.inter_op_threads
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL if opts.sequential else ort.ExecutionMode.ORT_PARALLEL
        available = set(ort.get_available_providers())
        missing = [p for p in opts.providers if p not in available]
        if missing:
            raise MissingDependencyError(f"execution provider {missing[0]}", "onnxruntime-gpu"
                                         if missing[0] in GPU_PROVIDERS else "onnxruntime", "gpu")
        path = Path(self.artifact.path)
        source: str | bytes = str(path)
        # a native crash on a malformed model: one line, not a dead process (a file edgeport's own converter or
        # pass just wrote, artifact.step set, came from the backend's writer, skips the child; so do bytes
        # decrypted from a package, which the GCM tag proved are the packaged variant)
        if self.model_bytes is not None:
            source = self.model_bytes["model"]
        elif path.is_file() and self.artifact.step is None:
            load_in_child_first("ONNX Runtime", self.version(), path, "edgeport.runtimes.onnxruntime:probe_load",
                                opts.graph_optimization, self._load_error)
        with map_exceptions({raised_in("onnxruntime"): self._load_error}):  # its own Fail/InvalidGraph/... types
            self._session = ort.InferenceSession(source, so, providers=list(opts.providers))
        self._output_names = [o.name for o in self._session.get_outputs()]

    def _load_error(self, exc: BaseException | str) -> BackendError | ModelFileError:
        """The error for a failed session creation: ``exc`` raised in this process, or its text from the child."""
        text = " ".join(exc.split())[:300] if isinstance(exc, str) else one_line(exc)
        if "protobuf" in text.lower() or "parse" in text.lower():
            return ModelFileError(f"{self.artifact.path}: ONNX Runtime cannot parse the model ({text})",
                                  fix="re-export the model; the file may be truncated")
        return BackendError(f"ONNX Runtime failed to load {self.artifact.path.name}: {text}",
                            fix="check the opset/operators are supported by onnxruntime")

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        def spec(arg: Any) -> TensorSpec:
            shape = tuple(d if isinstance(d, int) else (d if isinstance(d, str) else None) for d in arg.shape)
            return TensorSpec(arg.name, _ORT_DTYPES.get(arg.type, "float32"), shape)

        by_name = {s.name: s for s in self.artifact.inputs}
        ins = []
        for arg in self._session.get_inputs():
            s = spec(arg)
            known = by_name.get(s.name)
            if known is not None and (known.quant is not None or known.layout is not None):
                s = TensorSpec(s.name, s.dtype, s.shape, known.layout, known.quant)
            ins.append(s)
        return tuple(ins), tuple(spec(o) for o in self._session.get_outputs())

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with map_exceptions({raised_in("onnxruntime"): BackendError},
                            f"ONNX Runtime failed running {self.artifact.path.name}", fix="check the input data"):
            values = self._session.run(self._output_names, feeds)
        return dict(zip(self._output_names, values))

    def _release(self) -> None:
        self._session = None

    @classmethod
    def with_provider(cls, options: RuntimeOptions, provider: str) -> RuntimeOptions:
        """``provider`` (a short name or a full ORT provider name) first, the CPU provider as fallback."""
        if not isinstance(options, OnnxRuntimeOptions):
            raise TypeError(f"{cls.name} expects {OnnxRuntimeOptions.__name__}, got {type(options).__name__}")
        full = PROVIDERS.get(provider.strip().lower(), provider.strip())
        chain = (full,) if full == PROVIDERS["cpu"] else (full, PROVIDERS["cpu"])
        return dataclasses.replace(options, providers=chain)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(providers=list(self._session.get_providers()) if getattr(self, "_session", None) else
                    list(self.options.providers), graph_optimization=self.options.graph_optimization)
        return info

    @classmethod
    def gpu_available(cls) -> bool:
        if not cls.available():
            return False
        import onnxruntime as ort

        return any(p in ort.get_available_providers() for p in GPU_PROVIDERS)
