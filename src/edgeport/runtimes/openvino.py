"""OpenVINO: IR (``.xml`` + ``.bin``) and ONNX files on the CPU plugin.

OpenVINO runs in bf16 by default on CPUs with AVX-512 BF16 / AMX, which changes numerics.
edgeport asks for ``f32`` unless told otherwise (verification fidelity) and records in
``describe()`` the precision the compiled model *actually* runs in, read back from the
compiled model and from its execution graph (per-kernel runtime precisions).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import BackendError, ConfigError, ModelFileError, map_exceptions, raised_in
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, OpTime, OpTiming, Runtime, RuntimeOptions

_OPENVINO_ERRORS = (raised_in("openvino"), RuntimeError)  # pybind methods raise RuntimeError from our frame

__all__ = ["OpenVINOOptions", "OpenVINORuntime", "read_io"]

PRECISIONS = ("f32", "bf16", "f16")
HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
# execution-graph layers that move or hold data rather than compute: left out of kernel precisions
_PLUMBING = {"Const", "Input", "Parameter", "Output", "Result", "Reorder", "Reshape", "Squeeze", "Unsqueeze"}


@dataclass(frozen=True)
class OpenVINOOptions(RuntimeOptions):
    """OpenVINO CPU plugin settings (``None`` keeps the plugin's default)."""

    inference_precision: str | None = "f32"  # f32 | bf16 | f16 | None (plugin default: bf16 on this CPU class)
    performance_hint: str | None = "LATENCY"  # LATENCY | THROUGHPUT | CUMULATIVE_THROUGHPUT
    streams: int | None = None  # NUM_STREAMS
    device: str = "CPU"


def _dtype_of(element_type: Any) -> str:
    try:
        return str(np.dtype(element_type.to_dtype()))
    except (TypeError, RuntimeError):
        return str(element_type)


def _dims(partial_shape: Any) -> tuple[int | str | None, ...]:
    if partial_shape.rank.is_dynamic:
        return ()
    dims: list[int | str | None] = []
    for i, d in enumerate(partial_shape):
        dims.append(d.get_length() if d.is_static else ("batch" if i == 0 else None))
    return tuple(dims)


def _port_name(port: Any, fallback: str) -> str:
    names = sorted(port.get_names())
    return names[0] if names else fallback


def _specs(model: Any, names_from: Any = None) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """I/O specs of ``model``; port names from ``names_from`` (the model as read) when given.

    Compiling merges the names of tensors it fuses away into the surviving port (a folded ``If``
    gives an output port both ``output`` and ``If_0_then_branch…``), so names come from the IR.
    """
    named = names_from if names_from is not None else model
    ins = tuple(TensorSpec(_port_name(n, f"input_{i}"), _dtype_of(p.get_element_type()), _dims(p.get_partial_shape()),
                           "NCHW" if len(_dims(p.get_partial_shape())) == 4 else None)
                for i, (p, n) in enumerate(zip(model.inputs, named.inputs)))
    outs = tuple(TensorSpec(_port_name(n, f"output_{i}"), _dtype_of(p.get_element_type()), _dims(p.get_partial_shape()))
                 for i, (p, n) in enumerate(zip(model.outputs, named.outputs)))
    return ins, outs


def _read_model(core: Any, path: Path) -> Any:
    with map_exceptions(dict.fromkeys(_OPENVINO_ERRORS, ModelFileError), f"{path}: OpenVINO cannot read the model",
                        fix="re-export the model; keep the .bin beside the .xml"):
        return core.read_model(str(path))


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O specs of an OpenVINO IR (read with ``ov.Core().read_model``; weights are not compiled)."""
    from edgeport._optional import require

    ov = require("openvino", "openvino", "reading an OpenVINO IR")
    model = _read_model(ov.Core(), Path(path))
    ins, outs = _specs(model)
    ops = model.get_ordered_ops()
    meta: dict[str, Any] = {"ops": len(ops)}
    fq = sum(1 for op in ops if op.get_type_name() == "FakeQuantize")
    if fq:
        meta["fake_quantize_ops"] = fq
    f16 = any(op.get_type_name() == "Constant" and op.get_element_type().get_type_name() == "f16" for op in ops)
    meta["precision"] = "int8" if fq else ("fp16" if f16 else "fp32")
    return ins, outs, meta


def _precision_name(value: Any) -> str:
    text = str(getattr(value, "type_name", None) or value).lower()
    for short, words in (("bf16", ("bfloat16", "bf16")), ("f16", ("float16", "f16")),
                         ("f32", ("float32", "f32")), ("undefined", ("undefined", "dynamic"))):
        if any(w in text for w in words):
            return short
    return text


@RUNTIMES.register
class OpenVINORuntime(Runtime):
    name = "openvino"
    formats = frozenset({Format.OPENVINO, Format.ONNX})
    requires = ("openvino",)
    extra = "openvino"
    io_readers = {Format.OPENVINO: "edgeport.runtimes.openvino:read_io"}
    device = DeviceSupport(profile_names=("openvino",), modules=("openvino",))
    Options = OpenVINOOptions
    loads_from_memory = True
    times_ops = True
    fuses_pointwise = True  # its CPU plugin fuses eltwise chains into one kernel (a "Subgraph" in its counters)
    priority = 50  # ONNX Runtime stays the default for .onnx; pick "openvino" by name to run ONNX here
    description = "OpenVINO CPU plugin (IR or ONNX); f32 precision hint by default, records what ran"
    options: OpenVINOOptions
    _compiled: Any
    _request: Any
    _tensor: Any

    def _config(self) -> dict[str, Any]:
        opts = self.options
        config: dict[str, Any] = {}
        if opts.inference_precision is not None:
            if opts.inference_precision not in PRECISIONS:
                raise ConfigError(f"inference_precision {opts.inference_precision!r} is not an OpenVINO precision",
                                  fix=f"use one of: {', '.join(PRECISIONS)}")
            config["INFERENCE_PRECISION_HINT"] = opts.inference_precision
        if opts.performance_hint is not None:
            hint = opts.performance_hint.upper()
            if hint not in HINTS:
                raise ConfigError(f"performance_hint {opts.performance_hint!r} is not an OpenVINO hint",
                                  fix=f"use one of: {', '.join(HINTS)}")
            config["PERFORMANCE_HINT"] = hint
        if opts.threads:
            config["INFERENCE_NUM_THREADS"] = int(opts.threads)
        if opts.streams:
            config["NUM_STREAMS"] = int(opts.streams)
        return config

    def _compile(self, config: dict[str, Any]) -> tuple[Any, Any]:
        """(the compiled model, the model read) under ``config``."""
        import openvino as ov

        core = ov.Core()
        model = _read_model(core, self.artifact.path) if self.model_bytes is None else self._model_from_memory(ov, core)
        with map_exceptions(dict.fromkeys(_OPENVINO_ERRORS, BackendError),
                            f"OpenVINO failed to compile {self.artifact.path.name} for {self.options.device}",
                            fix="check the device name and that the model's operators are supported"):
            return core.compile_model(model, self.options.device, config), model

    def _load(self) -> None:
        import openvino as ov

        self._compiled, model = self._compile(self._config())
        self._request = self._compiled.create_infer_request()
        self._ins, self._outs = _specs(self._compiled, names_from=model)
        self._tensor = ov.Tensor

    def time_ops(self, feeds: list[dict[str, np.ndarray]], runs: int, *, warmup: int = 3) -> OpTiming:
        """OpenVINO's performance counters (``PERF_COUNT``) on a second compilation with the same configuration.

        The CPU plugin reports each executed node's ``real_time`` as its mean over every run since compilation
        (the first runs' slow times decay out of it slowly), so the measured runs' mean is recovered from the
        counters read after the warm-up and after the last run: (N·mean_N − W·mean_W) / (N − W). Fused and
        optimised-out nodes report no time of their own. A whole run is timed here around ``infer``, which on
        the CPU plugin runs in this thread."""
        import openvino as ov

        self._check_open()
        if not feeds or runs < 1:
            raise ConfigError("nothing to profile", fix="give at least one feed and one run")
        compiled, _ = self._compile({**self._config(), "PERF_COUNT": True})
        request = compiled.create_infer_request()
        executed = ov.ProfilingInfo.Status.EXECUTED

        def counters() -> dict[str, tuple[str, float]]:
            return {i.node_name: (str(i.node_type), i.real_time.total_seconds() * 1e6)
                    for i in request.get_profiling_info() if i.status == executed}

        before: dict[str, tuple[str, float]] = {}
        walls: list[float] = []
        with map_exceptions(dict.fromkeys(_OPENVINO_ERRORS, BackendError),
                            f"OpenVINO failed profiling {self.artifact.path.name}", fix="check the input data"):
            for i in range(warmup + runs):
                if i == warmup and warmup:
                    before = counters()
                self._bind(request, feeds[i % len(feeds)])
                t0 = time.perf_counter_ns()
                request.infer()
                if i >= warmup:
                    walls.append((time.perf_counter_ns() - t0) / 1e3)
            after = counters()
        total = warmup + runs
        ops = [OpTime(name, kind, max((total * mean - warmup * before.get(name, (kind, 0.0))[1]) / runs, 0.0),
                      kind == "Reorder")  # the plugin's layout and precision conversions between nodes
               for name, (kind, mean) in after.items()]
        return OpTiming(ops, statistics.median(walls), runs, "OpenVINO performance counters")

    def _model_from_memory(self, ov: Any, core: Any) -> Any:
        """An IR from its ``.xml`` text and ``.bin`` weights held in memory, or an ONNX model's bytes."""
        assert self.model_bytes is not None
        data = self.model_bytes["model"]
        with map_exceptions(dict.fromkeys(_OPENVINO_ERRORS, ModelFileError),
                            f"{self.artifact.path.name}: OpenVINO cannot read the model from memory",
                            fix="re-package the model; the IR needs its .xml and .bin"):
            if self.artifact.format is Format.ONNX:
                return core.read_model(data, framework="onnx")
            weights = self.model_bytes.get("weights", b"")
            return core.read_model(bytes(data).decode("utf-8"), ov.Tensor(np.frombuffer(weights, dtype=np.uint8)))

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        by_name = {s.name: s for s in self.artifact.inputs}
        ins = []
        for s in self._ins:
            known = by_name.get(s.name)
            if known is not None and (known.layout is not None or known.quant is not None):
                s = TensorSpec(s.name, s.dtype, s.shape, known.layout, known.quant)
            ins.append(s)
        return tuple(ins), self._outs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Inputs are wrapped without a copy where writeable (``prepare`` made them contiguous, in the
        # port's dtype) and outputs copied once out of the request's buffers: on a model that runs in
        # tens of µs, ``infer(dict)`` with its OVDict result costs ≈ 20 µs more per call than this.
        request = self._request
        with map_exceptions(dict.fromkeys(_OPENVINO_ERRORS, BackendError),
                            f"OpenVINO failed running {self.artifact.path.name}", fix="check the input data"):
            self._bind(request, feeds)
            request.infer()
        return {spec.name: request.get_output_tensor(i).data.copy() for i, spec in enumerate(self._outs)}

    def _bind(self, request: Any, feeds: dict[str, np.ndarray]) -> None:
        """Wrap each prepared input in place as ``request``'s input (OpenVINO refuses to share a read-only buffer:
        that one is copied)."""
        tensor = self._tensor
        for i, spec in enumerate(self._ins):
            arr = feeds[spec.name]
            request.set_input_tensor(i, tensor(arr, shared_memory=arr.flags.writeable))

    def _release(self) -> None:
        self._request = None
        self._compiled = None
        self._tensor = None

    # ---- what actually ran --------------------------------------------------------------------
    def actual_precision(self) -> str:
        """The inference precision the compiled model runs in (read back, not the request)."""
        self._check_open()
        return _precision_name(self._compiled.get_property("INFERENCE_PRECISION_HINT"))

    def kernel_precisions(self) -> dict[str, int]:
        """Runtime precision of each compute kernel in the execution graph, counted (e.g. {"u8": 7, "f32": 1})."""
        self._check_open()
        counts: Counter[str] = Counter()
        for op in self._compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            layer = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
            if layer in _PLUMBING or layer == "FakeQuantize":
                continue
            counts[info["runtimePrecision"].astype(str) if "runtimePrecision" in info else "?"] += 1
        return dict(sorted(counts.items()))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(device=self.options.device, requested_precision=self.options.inference_precision)
        if not self._open:
            return info
        compiled = self._compiled
        info.update(inference_precision=self.actual_precision(),
                    threads=int(compiled.get_property("INFERENCE_NUM_THREADS")),
                    streams=int(compiled.get_property("NUM_STREAMS")),
                    performance_hint=str(compiled.get_property("PERFORMANCE_HINT")),
                    kernel_precisions=self.kernel_precisions())
        return info

    def reduced_precision(self) -> tuple[str, str] | None:
        """("bf16" | "f16", fix) when the float model computes in a reduced precision, else None."""
        if not self._open:
            return None
        precision = self.actual_precision()
        if precision in ("bf16", "f16"):
            return precision, "use inference_precision='f32'"
        return None
