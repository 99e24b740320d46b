"""The ``Runtime`` interface: an explicit lifecycle around one loaded model.

``open()`` loads (timed), ``run(feeds)`` validates feeds once against the specs and calls the
backend hook, ``close()`` releases. Quantised I/O is handled here: float feeds for an int8/uint8
input are quantised with the tensor's scale/zero-point, and quantised outputs are dequantised,
so callers always see real values (``raw=True`` on ``run`` skips that).

A runtime class is also the one place that knows its runtime: the formats it runs, the packages
it needs (``requires``/``extra``), the functions that read its formats' I/O (``io_readers``), and
where its artifacts run off this host (``device``: the names device profiles use for it, the
modules a deployed device needs). The tables other layers used to keep — format → reader,
format → device-profile runtime names, runtime → deploy modules — are the functions at the end
of this module, computed from the registry.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar

import numpy as np

from edgeport._optional import is_available, require, version_of
from edgeport._registry import Registry
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.inputs import InputPlan, apply_plan, batch_axes
from edgeport.core.tensors import TensorSpec
from edgeport.errors import ConfigError, FeedError, UnsupportedError

__all__ = ["DeviceSupport", "DeviceTiming", "OpTime", "OpTiming", "RunPolicy", "Runtime", "RuntimeOptions",
           "deploy_modules", "device_runtime", "device_scheme", "host_bound_reason", "io_reader_for",
           "open_runtime", "profile_runtimes_for", "runtime_class_for", "runtimes_for"]


@dataclass(frozen=True)
class RuntimeOptions:
    """Options every runtime understands. Runtimes subclass this with their own knobs."""

    threads: int | None = None  # None: the runtime's default


@dataclass(frozen=True)
class DeviceSupport:
    """Where a runtime's artifacts run besides this host: in device profiles and in a deployed package."""

    profile_names: tuple[str, ...] = ()  # runtime names in device profiles (targets/*.toml) that run its formats
    profile_formats: tuple[Format, ...] = ()  # the formats those names run, where not all of the runtime's
    modules: tuple[str, ...] = ()  # importable modules, any one of which runs its artifacts; () = requires[:1]
    os: tuple[str, ...] = ()  # ``sys.platform`` prefixes its artifacts run on; () = any
    host_bound: str = ""  # non-empty: why its artifacts run only on a machine like the one that built them


@dataclass(frozen=True)
class RunPolicy:
    """How a benchmark times runs (the harness's ``BenchmarkConfig`` timing fields), for a device runtime that
    times on its device: warm-up until both ``warmup_runs`` and ``warmup_min_s`` have passed, then timed runs
    until both ``min_runs`` and ``min_duration_s`` have passed, or ``max_runs`` / ``max_duration_s``."""

    warmup_runs: int
    warmup_min_s: float
    min_runs: int
    min_duration_s: float
    max_runs: int
    max_duration_s: float | None


@dataclass
class DeviceTiming:
    """A benchmark timed on the device itself (never across the link to it)."""

    samples_ms: list[float]
    warmup_runs: int
    warmup_s: float
    load_ms: float | None = None  # the device's model load; None: the client's open() time stands
    first_run_ms: float | None = None
    peak_rss_delta_mb: float | None = None
    rss_method: str = "unavailable"
    conditions: dict[str, Any] | None = None  # the device's own timing conditions record


@dataclass(frozen=True)
class OpTime:
    """One kernel a runtime ran, timed by the runtime's own profiler."""

    name: str  # the runtime's name for it: a fused kernel carries one of its source nodes' names
    kind: str  # the kernel type the runtime reports (Conv, FusedConv, Convolution, Reorder…)
    us: float  # µs per run: ONNX Runtime's median, OpenVINO's mean (its counters keep only a running mean)
    inserted: bool = False  # a kernel the runtime added (a layout reorder, a copy), no node of the model


@dataclass
class OpTiming:
    """Per-kernel times of one model, in the order the runtime ran them, and the whole runs they came from."""

    ops: list[OpTime]
    run_us: float  # median time of a whole profiled run: the kernels' sum plus the runtime's own work between them
    runs: int  # profiled runs the per-kernel times are taken over (after the warm-up ones)
    profiler: str  # what timed them ("ONNX Runtime profiler", "OpenVINO performance counters")

    @property
    def kernels_us(self) -> float:
        return sum(op.us for op in self.ops)


class Runtime(ABC):
    name: ClassVar[str] = ""
    formats: ClassVar[frozenset[Format]] = frozenset()
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules this runtime needs
    extra: ClassVar[str] = ""  # the pip extra that installs them
    Options: ClassVar[type[RuntimeOptions]] = RuntimeOptions
    runnable_here: ClassVar[bool] = True  # False: the format can be inspected but not executed on this host
    description: ClassVar[str] = ""
    priority: ClassVar[int] = 100  # lower wins when several runtimes run a format
    # format -> "module:function" returning (inputs, outputs, metadata) for a file of that format; imported
    # only when an artifact of the format is loaded (``load_artifact``)
    io_readers: ClassVar[Mapping[Format, str]] = MappingProxyType({})
    device: ClassVar[DeviceSupport] = DeviceSupport()
    # device-address schemes this runtime measures on ("agent" for agent://HOST:PORT, "browser"): a runtime
    # that runs artifacts somewhere other than this process, chosen by ``--device`` and by a device profile's
    # ``agent``/``measure`` field
    device_schemes: ClassVar[tuple[str, ...]] = ()
    # True: ``_load`` can build the model from ``model_bytes`` (decrypted in memory) instead of the file
    loads_from_memory: ClassVar[bool] = False
    # True: ``time_ops`` times each kernel with the runtime's own profiler
    times_ops: ClassVar[bool] = False
    # True: a chain of pointwise ops (and one following a convolution) runs as one kernel, one pass over the
    # tensor (OpenVINO's eltwise fusion); the latency predictor counts such a chain once (``predict.costmodel``)
    fuses_pointwise: ClassVar[bool] = False

    def __init__(self, artifact: Artifact, options: RuntimeOptions | None = None, *,
                 model_bytes: Mapping[str, bytes] | None = None) -> None:
        """``model_bytes``: the model's files held in memory, by role (``"model"``, and ``"weights"`` for a
        format with a side file), loaded from there instead of ``artifact.path`` so a decrypted model
        never touches the disk; only runtimes with ``loads_from_memory`` accept it."""
        if artifact.format not in self.formats:
            accepted = ", ".join(sorted(f.value for f in self.formats))
            raise UnsupportedError(f"runtime {self.name!r} cannot run {artifact.format.value} models",
                                   fix=f"it runs: {accepted}")
        if model_bytes is not None and not self.loads_from_memory:
            capable = ", ".join(sorted(c.name for c in RUNTIMES if c.loads_from_memory))
            raise UnsupportedError(f"runtime {self.name!r} cannot load a model from memory",
                                   fix=f"runtimes that can: {capable}")
        if model_bytes is not None and "model" not in model_bytes:
            raise ConfigError(f"model_bytes has no 'model' entry (got {sorted(model_bytes)})",
                              fix="pass the model file's bytes as model_bytes={'model': data}")
        self.artifact = artifact
        self.model_bytes = model_bytes
        self.options = options if options is not None else self.Options()
        if not isinstance(self.options, self.Options):
            raise TypeError(f"{self.name} expects {self.Options.__name__}, got {type(self.options).__name__}")
        self.load_seconds: float | None = None
        self._open = False
        self._inputs: tuple[TensorSpec, ...] = ()
        self._outputs: tuple[TensorSpec, ...] = ()

    # ---- availability -------------------------------------------------------------------------
    @classmethod
    def available(cls) -> bool:
        return all(is_available(m) for m in cls.requires)

    @classmethod
    def version(cls) -> str | None:
        return version_of(cls.requires[0]) if cls.requires else None

    @classmethod
    def _require(cls) -> None:
        for module in cls.requires:
            require(module, cls.extra, f"runtime {cls.name!r}")

    @classmethod
    def deploy_modules(cls) -> tuple[str, ...]:
        """Importable modules, any one of which runs this runtime's artifacts on a deployed device."""
        return cls.device.modules or cls.requires[:1] or (cls.name,)

    @classmethod
    def options_for_device(cls, address: str, *, runtime: str | None = None,
                           threads: int | None = None) -> RuntimeOptions:
        """Options that run on the device at ``address`` (one of ``device_schemes``); ``runtime`` names the
        runtime to use there when the device has several. Runtimes that measure devices override this."""
        raise ConfigError(f"runtime {cls.name!r} does not run on devices", fix="drop --device")

    @classmethod
    def with_provider(cls, options: RuntimeOptions, provider: str) -> RuntimeOptions:
        """``options`` running on the execution provider ``provider``; runtimes without providers refuse."""
        raise ConfigError(f"runtime {cls.name!r} has no execution providers", fix="drop --provider")

    # ---- lifecycle ----------------------------------------------------------------------------
    def open(self) -> Runtime:
        if self._open:
            return self
        self._require()
        start = time.perf_counter()
        self._load()
        self.load_seconds = time.perf_counter() - start
        self._inputs, self._outputs = self._read_specs()
        self._inputs = apply_plan(self._inputs, self._own_plan())
        self._open = True
        return self

    def _own_plan(self) -> InputPlan:
        """The artifact's recorded input plan, restricted to the inputs this runtime reads (a converted
        model may rename or drop some); its shapes make ``input_specs()`` concrete."""
        return self.artifact.input_plan.only(s.name for s in self._inputs)

    def close(self) -> None:
        if self._open:
            self._release()
            self._open = False

    def __enter__(self) -> Runtime:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- introspection ------------------------------------------------------------------------
    def input_specs(self) -> tuple[TensorSpec, ...]:
        self._check_open()
        return self._inputs

    def output_specs(self) -> tuple[TensorSpec, ...]:
        self._check_open()
        return self._outputs

    def describe(self) -> dict[str, Any]:
        """What actually ran (providers, precision, delegate...) for the recorded conditions."""
        return {"runtime": self.name, "version": self.version(), "threads": self.options.threads}

    def reduced_precision(self) -> tuple[str, str] | None:
        """(precision, fix) when a float model actually computes in reduced precision here (e.g. OpenVINO
        bf16 on AVX-512 BF16 CPUs), so a failed verification can say why and how to avoid it."""
        return None

    # ---- inference ----------------------------------------------------------------------------
    def prepare(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Validate and convert feeds once (names, ranks, static dims, dtype, quantisation)."""
        self._check_open()
        specs = {s.name: s for s in self._inputs}
        missing = [n for n in specs if n not in feeds]
        unknown = [n for n in feeds if n not in specs]
        if len(specs) == 1 and len(feeds) == 1 and (missing or unknown):
            (only,) = specs
            feeds = {only: next(iter(feeds.values()))}
            missing, unknown = [], []
        if missing or unknown:
            raise FeedError(f"feeds {sorted(feeds)} do not match model inputs {sorted(specs)}",
                            fix="name each feed after a model input")
        out: dict[str, np.ndarray] = {}
        for name, spec in specs.items():
            arr = np.asarray(feeds[name])
            reason = spec.accepts(arr)
            if reason:
                raise FeedError(f"input {name!r}: got {reason}",
                                fix="reshape the data or re-export the model with that shape")
            out[name] = self._cast(spec, arr)
        return out

    def run(self, feeds: Mapping[str, np.ndarray], *, raw: bool = False) -> dict[str, np.ndarray]:
        prepared = self.prepare(feeds)
        outputs = self._run(prepared)
        if raw:
            return outputs
        return self._dequantize(outputs)

    def run_prepared(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The bare backend call on feeds already returned by ``prepare`` (benchmark hot path)."""
        return self._run(feeds)

    def time_on_device(self, feeds: list[dict[str, np.ndarray]], policy: RunPolicy) -> DeviceTiming | None:
        """Time ``feeds`` (prepared, cycled in order) under ``policy`` on the device this runtime runs on.
        None (every in-process runtime): the harness times ``run_prepared`` here. A device runtime must
        time on the device: a timer around a network or page round trip measures the link, not the model."""
        return None

    def time_ops(self, feeds: list[dict[str, np.ndarray]], runs: int, *, warmup: int = 3) -> OpTiming:
        """Each kernel's time per run over ``runs`` runs of ``feeds`` (prepared, cycled), after ``warmup`` runs,
        timed by the runtime's profiler in a profiling instance of its own: profiling slows every kernel a
        little, so the runtime ``run`` uses is never the one profiled."""
        able = ", ".join(sorted(c.name for c in RUNTIMES if c.times_ops))
        raise UnsupportedError(f"runtime {self.name!r} has no per-operator profiler edgeport reads",
                               fix=f"time operators with: {able}")

    # ---- helpers ------------------------------------------------------------------------------
    def _cast(self, spec: TensorSpec, arr: np.ndarray) -> np.ndarray:
        want = np.dtype(spec.dtype)
        if arr.dtype == want:
            return _contiguous(arr)
        if spec.quant is not None and want.kind in "iu" and arr.dtype.kind == "f":
            return spec.quant.quantize(arr, want)
        if arr.dtype.kind == want.kind or (arr.dtype.kind in "iu" and want.kind in "iu") or \
                (arr.dtype.kind == "f" and want.kind == "f"):
            return _contiguous(arr.astype(want))
        raise FeedError(f"input {spec.name!r}: got dtype {arr.dtype}, expected {spec.dtype}",
                        fix=f"cast the data to {spec.dtype}")

    def _dequantize(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        specs = {s.name: s for s in self._outputs}
        result = {}
        for name, value in outputs.items():
            spec = specs.get(name)
            if spec is not None and spec.quant is not None and np.asarray(value).dtype.kind in "iu":
                result[name] = spec.quant.dequantize(np.asarray(value))
            else:
                result[name] = value
        return result

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(f"runtime {self.name!r} is not open: use 'with runtime:' or call open()")

    # ---- backend hooks ------------------------------------------------------------------------
    @abstractmethod
    def _load(self) -> None: ...

    @abstractmethod
    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]: ...

    @abstractmethod
    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def _release(self) -> None:
        return None


# Every runtime module in this package registers here (``edgeport.runtimes`` re-exports it). It lives
# beside the base class so the lookups below need no import of the package that imports this module.
RUNTIMES: Registry[type[Runtime]] = Registry("runtime", "edgeport.runtimes", base=Runtime)


def _by_preference() -> list[type[Runtime]]:
    return sorted(RUNTIMES, key=lambda c: (c.priority, c.name))


def runtimes_for(fmt: Format, *, devices: bool = False) -> list[type[Runtime]]:
    """The runtimes that run ``fmt`` in this process, preferred first; with ``devices``, also those that run it
    on a device (``device_schemes``), which are only ever chosen by a device address."""
    return [cls for cls in _by_preference() if fmt in cls.formats and (devices or not cls.device_schemes)]


def io_reader_for(fmt: Format) -> str | None:
    """The ``module:function`` reading ``fmt``'s I/O specs: the most preferred runtime declaring one."""
    return next((cls.io_readers[fmt] for cls in _by_preference() if fmt in cls.io_readers), None)


def profile_runtimes_for(fmt: Format) -> tuple[str, ...]:
    """The runtime names device profiles use for runtimes that can load ``fmt`` elsewhere, preferred first."""
    names: list[str] = []
    for cls in runtimes_for(fmt, devices=True):
        if not cls.device.host_bound and (not cls.device.profile_formats or fmt in cls.device.profile_formats):
            names.extend(n for n in cls.device.profile_names if n not in names)
    return tuple(names)


def host_bound_reason(fmt: Format) -> str:
    """Why ``fmt``'s artifacts run only on the machine that built them ("" when some runtime carries them off it)."""
    reasons = [cls.device.host_bound for cls in runtimes_for(fmt)]
    return reasons[0] if reasons and all(reasons) else ""


def deploy_modules(runtime: str) -> tuple[str, ...]:
    """Importable modules, any one of which runs the named runtime's artifacts on a device."""
    return RUNTIMES.get(runtime).deploy_modules()


def device_scheme(address: str) -> str:
    """The scheme of a device address: "agent" for ``agent://HOST:PORT``, "browser" for ``browser``."""
    return address.split("://", 1)[0] if "://" in address else address


def device_runtime(address: str, *, runtime: str | None = None,
                   threads: int | None = None) -> tuple[type[Runtime], RuntimeOptions]:
    """The runtime class that measures on the device at ``address``, and its options for it."""
    scheme = device_scheme(address)
    owners = [cls for cls in _by_preference() if scheme in cls.device_schemes]
    if not owners:
        known = sorted({f"{s}://HOST:PORT" if s == "agent" else s for c in RUNTIMES for s in c.device_schemes})
        raise ConfigError(f"unknown device {address!r}",
                          fix=f"give one of: {', '.join(known) or 'none (no device runtime is installed)'}")
    cls = owners[0]
    return cls, cls.options_for_device(address, runtime=runtime, threads=threads)


def runtime_class_for(artifact: Artifact, runtime: str | None = None) -> type[Runtime]:
    """The named runtime (checked against the artifact's format), or the first available one for it."""
    if runtime is not None:
        cls = RUNTIMES.get(runtime)
        if artifact.format not in cls.formats:
            accepted = ", ".join(sorted(f.value for f in cls.formats))
            raise UnsupportedError(f"runtime {cls.name!r} cannot run {artifact.format.value} models",
                                   fix=f"it runs: {accepted}; convert the model first (edgeport convert)")
        return cls
    candidates = [c for c in runtimes_for(artifact.format) if c.runnable_here]
    available = [c for c in candidates if c.available()]
    if not available:
        if candidates:
            candidates[0]._require()
        raise UnsupportedError(f"no runtime runs {artifact.format.value} models on this host",
                               fix="convert the model first (edgeport convert MODEL --to onnx)")
    return available[0]


def _contiguous(arr: np.ndarray) -> np.ndarray:
    """C-contiguous ``arr`` with its rank kept (``np.ascontiguousarray`` turns a rank-0 scalar into rank 1)."""
    return np.require(arr, requirements="C")


def open_runtime(artifact: Artifact, runtime: str | None = None,
                 options: RuntimeOptions | None = None, *, model_bytes: Mapping[str, bytes] | None = None) -> Runtime:
    """Create (not yet opened) the named runtime, or the first available one for the format; with
    ``model_bytes`` it loads from memory (``Runtime.loads_from_memory``)."""
    cls = runtime_class_for(artifact, runtime)
    if options is None:
        options = cls.Options()
    elif not isinstance(options, cls.Options):
        options = cls.Options(threads=options.threads)
    return cls(artifact, options, model_bytes=model_bytes)


def batch_size_for(specs: tuple[TensorSpec, ...], preferred: int = 64) -> int:
    """The batch a model accepts: ``preferred`` when it has a symbolic batch dim, else its fixed dim 0."""
    if batch_axes(specs) or not specs:
        return preferred
    static = [s.shape[0] for s in specs if s.shape and isinstance(s.shape[0], int) and s.shape[0] > 0]
    return static[0] if static else 1


def run_dataset(rt: Runtime, data: Any, *, batch_size: int | None = None) -> dict[str, np.ndarray]:
    """Run every sample of ``data`` (a ``Dataset``) through an open runtime; outputs concatenated along the
    batch, or stacked one per sample when samples are whole feeds (``Dataset.bind``)."""
    specs = rt.input_specs()
    bs = data.batch_size(specs, batch_size or batch_size_for(specs))
    static = any(s.shape and isinstance(s.shape[0], int) for s in specs)
    collected: dict[str, list[np.ndarray]] = {}
    order: list[str] = []
    for n, feeds in data.chunks(specs, bs):
        padded = n != bs and static
        if padded:  # static batch model and a short last batch: pad, run, trim
            feeds = {k: np.concatenate([v, np.repeat(v[-1:], bs - n, axis=0)]) for k, v in feeds.items()}
        outs = rt.run(feeds)
        for name, value in outs.items():
            if name not in collected:
                collected[name] = []
                order.append(name)
            collected[name].append(np.asarray(value)[:n] if padded else np.asarray(value))
    join = np.stack if data.fed_whole(specs) else np.concatenate
    return {name: join(collected[name]) for name in order}
