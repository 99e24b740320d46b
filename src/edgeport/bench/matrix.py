"""Benchmark one model over several runtimes × thread counts (what ``edgeport bench`` runs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.bench.harness import BenchmarkConfig, BenchmarkResult, benchmark, time_ops
from edgeport.bench.ops import graph_of
from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.inputs import InputPlan
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, UnsupportedError, one_line
from edgeport.runtimes.base import Runtime, RuntimeOptions

__all__ = ["BenchMatrix", "bench_matrix", "runtime_options"]

@dataclass
class BenchMatrix:
    model: str
    format: str
    rows: list[BenchmarkResult] = field(default_factory=list)
    kind: str = "bench"

    @property
    def loaded(self) -> bool:
        return any(r.conditions.loaded for r in self.rows)

def runtime_options(cls: type[Runtime], threads: int | None, provider: str | None = None) -> RuntimeOptions:
    """``cls``'s options with ``threads`` (and an execution provider, for runtimes that have them)."""
    options = cls.Options(threads=threads)
    return cls.with_provider(options, provider) if provider else options

def _runtime_classes(artifact: Artifact, names: Sequence[str]) -> list[type[Runtime]]:
    from edgeport.runtimes.base import runtime_class_for

    if names:
        return [runtime_class_for(artifact, n) for n in names]
    return [runtime_class_for(artifact)]

def bench_matrix(model: Artifact | str | Path, runtimes: Sequence[str] = (), threads: Sequence[int | None] = (None,),
                 data: Dataset | None = None, config: BenchmarkConfig | None = None,
                 provider: str | None = None, *, shapes: Any = None, inputs: Any = None,
                 device: str | None = None, ops: bool = False) -> BenchMatrix:
    """One ``BenchmarkResult`` per runtime × thread count (default: the format's best runtime), fed at the
    input shapes and values ``shapes``/``inputs`` give (``["x=1x3x640x640"]``, ``["sr=16000"]``; see
    ``edgeport.InputPlan``). With ``device`` (``agent://HOST:PORT``) each row runs and is timed on that device,
    ``runtimes`` naming the runtimes to use there (default: the device's best for the format). With ``ops`` each
    row also gets its per-operator times (``time_ops``: separate profiled runs, so the latency stays unprofiled);
    a row whose runtime has no profiler edgeport reads says so in ``ops_note``."""
    artifact = model if isinstance(model, Artifact) else load_artifact(model)
    artifact = artifact.with_inputs(InputPlan.parse(shapes, inputs))
    for t in threads:
        if t is not None and t < 1:
            raise ConfigError(f"thread count must be ≥ 1, got {t}", fix="e.g. --threads 1,2")
    if data is not None and artifact.inputs:
        data.bind(artifact.inputs)  # fail before loading anything when the data cannot feed the model
    result = BenchMatrix(model=artifact.name, format=artifact.format.value)
    if device:
        from edgeport.runtimes.base import device_runtime

        if provider:
            raise ConfigError("--provider applies to this host's ONNX Runtime, not a device",
                              fix="drop --provider with --device")
        for name in list(runtimes) or [None]:
            for t in threads or (None,):
                cls, options = device_runtime(device, runtime=name, threads=t)
                result.rows.append(benchmark(artifact, cls.name, options, data, config))
                if ops:
                    result.rows[-1].ops_note = "operators are profiled on this host only, not on a device"
        return result
    classes = _runtime_classes(artifact, list(runtimes))
    graph = graph_of(artifact) if ops else None
    for cls in classes:
        for t in threads or (None,):
            options = runtime_options(cls, t, provider)
            row = benchmark(artifact, cls.name, options, data, config)
            if ops:
                try:
                    row.ops = time_ops(artifact, cls.name, options, data=data, graph=graph, config=config)
                except UnsupportedError as exc:
                    row.ops_note = one_line(exc)
            result.rows.append(row)
    return result
