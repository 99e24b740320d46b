"""ONNX Runtime: threads, graph optimisation level, execution providers."""

from __future__ import annotations

import bisect
import dataclasses
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import (BackendError, ConfigError, MissingDependencyError, ModelFileError, map_exceptions,
                             one_line, raised_in)
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes._isolated import load_in_child_first
from edgeport.runtimes.base import DeviceSupport, OpTime, OpTiming, Runtime, RuntimeOptions

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


# kernels ONNX Runtime adds itself: NCHWc layout conversions around blocked convolutions, device copies
_INSERTED = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost"})


def _op_timing(trace: list[dict[str, Any]], warmup: int) -> OpTiming:
    """Per-kernel medians from an ONNX Runtime profile trace, the first ``warmup`` runs left out.

    A kernel event (category ``Node``, name ``<node>_kernel_time``) belongs to the ``model_run`` span holding its
    start; a node run more than once in a run (inside a loop) counts its summed time. A control-flow kernel
    (If, Loop, Scan) spans the kernels of its subgraph, which the trace also lists: it keeps only its own time,
    so no time is counted twice."""
    spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in trace
                   if e.get("cat") == "Session" and e.get("name") == "model_run")
    spans = spans[warmup:]
    if not spans:
        raise BackendError("ONNX Runtime's profile holds no timed run", fix="profile with at least one run")
    per_run: list[dict[str, float]] = [{} for _ in spans]
    kinds: dict[str, str] = {}
    order: list[str] = []
    starts = [s for s, _ in spans]
    kernels = sorted((e for e in trace if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time")),
                     key=lambda e: (e["ts"], -e["dur"]))
    enclosing: list[tuple[float, int, str]] = []  # (end, run, name) of the kernels open at this point
    for e in kernels:
        i = bisect.bisect_right(starts, e["ts"]) - 1
        if i < 0 or e["ts"] > spans[i][1]:
            continue  # a warm-up run's kernel
        name = e["name"][:-len("_kernel_time")]
        if name not in kinds:
            kinds[name] = str(e.get("args", {}).get("op_name", "?"))
            order.append(name)
        while enclosing and enclosing[-1][0] < e["ts"] + e["dur"]:
            enclosing.pop()
        if enclosing and enclosing[-1][1] == i:  # inside a control-flow kernel: not its own time
            _, run, parent = enclosing[-1]
            per_run[run][parent] -= float(e["dur"])
        per_run[i][name] = per_run[i].get(name, 0.0) + float(e["dur"])
        enclosing.append((e["ts"] + e["dur"], i, name))
    ops = [OpTime(n, kinds[n], max(statistics.median(r.get(n, 0.0) for r in per_run), 0.0), kinds[n] in _INSERTED)
           for n in order]
    return OpTiming(ops, statistics.median(e - s for s, e in spans), len(spans), "ONNX Runtime profiler")


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
    times_ops = True
    priority = 10
    description = "ONNX Runtime (CPU by default; CUDA/TensorRT providers where installed)"
    options: OnnxRuntimeOptions

    def _session_options(self, ort: Any) -> Any:
        opts = self.options
        if opts.graph_optimization not in _OPT_LEVELS:
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
        return so

    def _load(self) -> None:
        import onnxruntime as ort

        opts = self.options
        so = self._session_options(ort)
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
        self._source = source
        self._output_names = [o.name for o in self._session.get_outputs()]

    def time_ops(self, feeds: list[dict[str, np.ndarray]], runs: int, *, warmup: int = 3) -> OpTiming:
        """ONNX Runtime's own profiler (``enable_profiling``) on a second session with the same options: its
        trace's ``model_run`` spans delimit the runs, and each kernel's events inside a run are summed."""
        import onnxruntime as ort

        self._check_open()
        if not feeds or runs < 1:
            raise ConfigError("nothing to profile", fix="give at least one feed and one run")
        with tempfile.TemporaryDirectory(prefix="edgeport-ort-profile-") as tmp:
            so = self._session_options(ort)
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(tmp) / "profile")
            with map_exceptions({raised_in("onnxruntime"): BackendError},
                                f"ONNX Runtime failed profiling {self.artifact.path.name}", fix="check the input data"):
                session = ort.InferenceSession(self._source, so, providers=list(self.options.providers))
                for i in range(warmup + runs):
                    session.run(self._output_names, feeds[i % len(feeds)])
                trace = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
        return _op_timing(trace, warmup)

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
        self._source = None

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
