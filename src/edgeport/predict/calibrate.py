"""``calibrate``: measure the calibration family (and the user's models) on one device and runtime, fit.

A device is named by where the runtime runs: ``host`` is this machine through any installed runtime;
``agent://HOST:PORT`` and ``browser`` are measured by their device runtimes (``remote``, ``browser``),
which time each block on the device itself (the agent's own loop, the page's ``performance.now()``),
never across the link. A device's fit is filed under its profile (``--target``, by default the profile
whose ``agent``/``measure`` names it), which is where ``check``, ``fit`` and studies look for it.

Networks that fail to convert or run are left out of the fit and listed (``failed``); the fit uses
the rest. Each precision the measured set contains at least ``MIN_MODELS`` times gets its own fit.

Models measured elsewhere join a stored fit through ``add_measurements``: a study adds each candidate it
measured (on the host, or on a target's device) to the calibration of that device, runtime, precision and
thread count, and the terms and the interval are fitted again with them. The fit then knows the user's
own models, not only the family; and before it is refitted, how far it predicted them is reported, the
one check of the predictor on a model it was not built around.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.target import Target, get_target
from edgeport.errors import ConfigError, EdgeportError, UnsupportedError
from edgeport.predict.calibration import Calibration, save_calibration
from edgeport.predict.costmodel import CostParams, features
from edgeport.predict.fit import Sample, fit_params, leave_one_out

__all__ = ["CalibrationDevice", "CalibrationResult", "Measurement", "add_measurements", "bench_config", "calibrate",
           "fit_calibrations", "interval_of", "measure_latency_s", "measure_samples", "resolve_device", "runnable"]

MIN_MODELS = 5  # fewer measured models of a precision than this: no fit for it (the prior stays)
COVERAGE = 0.9  # the interval holds this share of the leave-one-out predictions


def bench_config() -> Any:
    """Short benchmarks: a calibration network needs a stable median, not percentiles."""
    from edgeport.bench.harness import BenchmarkConfig

    return BenchmarkConfig(warmup_runs=5, warmup_min_s=0.05, min_runs=10, min_duration_s=0.1, max_runs=5000,
                           max_duration_s=2.0, distinct_inputs=4)


@dataclass(frozen=True)
class CalibrationDevice:
    """Where calibration runs: the device profile estimates are filed under and the runtime measuring there."""

    device: str  # the profile id calibrations are stored under ("host", "rpi5", "browser-wasm")
    target: Target  # its profile: peaks, bandwidth, priors
    runtime: str  # the runtime the model runs on, on the device ("onnxruntime", "onnxruntime-web")
    options: Any  # RuntimeOptions for ``measure_with``
    address: str = "host"  # where it is measured: "host", "agent://HOST:PORT", "browser"
    measure_with: str = ""  # the runtime class here that measures there ("remote", "browser"); "" = ``runtime``

    @property
    def bench_runtime(self) -> str:
        return self.measure_with or self.runtime


DEVICE_RUNTIME_ON = {"browser": "onnxruntime-web"}  # what a device scheme's page runs (it has only one)


def resolve_device(device: str, runtime: str | None = None, threads: int = 1, *,
                   target: str | None = None) -> CalibrationDevice:
    """``host`` through ``runtime`` (default ONNX Runtime), or a device a device runtime measures on
    (``agent://HOST:PORT``, ``browser``), filed under the profile ``target`` — by default the profile whose
    ``agent``/``measure`` names that device."""
    from edgeport.runtimes.base import RUNTIMES, device_runtime, device_scheme

    if device == "host":
        if target not in (None, "host"):
            raise ConfigError(f"--target {target} with --device host: the host is only filed under its own profile",
                              fix=f"calibrate the device that {target} is (--device agent://HOST:PORT), or drop --target")
        name = runtime or "onnxruntime"
        if name not in RUNTIMES.names():
            raise ConfigError(f"unknown runtime {name!r}", fix=f"use one of: {', '.join(sorted(RUNTIMES.names()))}")
        cls = RUNTIMES.get(name)
        if cls.device_schemes:
            raise ConfigError(f"runtime {name!r} measures on another device, not the host",
                              fix=f"pass --device {cls.device_schemes[0]}{'://HOST:PORT' if cls.device_schemes[0] == 'agent' else ''}")
        if not cls.available():
            cls._require()  # raises MissingDependencyError naming the extra
        return CalibrationDevice("host", get_target("host"), name, cls.Options(threads=threads))
    scheme = device_scheme(device)
    on_device = DEVICE_RUNTIME_ON.get(scheme)
    if on_device is not None and runtime not in (None, on_device):
        raise ConfigError(f"the {device} device runs only {on_device}, not {runtime!r}", fix="drop --runtime")
    cls, options = device_runtime(device, runtime=None if on_device else (runtime or "onnxruntime"), threads=threads)
    if not cls.available():
        cls._require()
    profile = _profile_for(device, target)
    return CalibrationDevice(profile.id, profile, on_device or runtime or "onnxruntime", options, address=device,
                             measure_with=cls.name)


def _profile_for(device: str, target: str | None) -> Target:
    from edgeport.core.target import list_targets

    if target is not None:
        return get_target(target)
    named = [t for t in list_targets() if t.measured_by == device]
    if not named:
        raise ConfigError(f"no device profile names {device} as its device, so its calibration has nowhere to be "
                          "filed", fix="pass --target ID: the profile this device is (edgeport targets lists them)")
    return named[0]


@dataclass
class CalibrationResult:
    device: str
    runtime: str
    threads: int | None
    calibrations: list[Calibration]
    measured: int
    failed: list[str]  # "model: why"
    notes: list[str] = field(default_factory=list)
    address: str = "host"  # where it was measured
    kind: str = "calibrate"


def runnable(model: Any, runtime: str, work: Path) -> tuple[Any, Any]:
    """(artifact, graph): ``model`` (an artifact or a path) in a format ``runtime`` runs — converted without
    verification into ``work`` when it needs another, a conversion already there reused — and, where edgeport
    reads the converted graph (TFLite, whose layout transposes are what runs), that graph; else None (cost the
    model given)."""
    from edgeport.core.artifact import Artifact, load_artifact
    from edgeport.graph.load import GRAPH_FORMATS, load_graph
    from edgeport.runtimes.base import RUNTIMES

    art = model if isinstance(model, Artifact) else load_artifact(model)
    cls = RUNTIMES.get(runtime)
    if art.format in cls.formats:
        return art, None
    from edgeport.convert.api import convert

    fmt = sorted(cls.formats, key=lambda f: f.value)[0]
    done = work / runtime / art.path.stem / f"{art.path.stem}{fmt.suffix}"
    converted = load_artifact(done) if done.exists() else convert(art, fmt, out=done, verify_result=False).artifact
    return converted, load_graph(converted.path) if fmt in GRAPH_FORMATS else None


BLOCKS = 3


def measure_latency_s(artifact: Any, dev: CalibrationDevice, config: Any, graph: Any = None) -> tuple[
        float, dict[int, float] | None]:
    """The model's latency with nothing else on the machine, in s, and where the runtime profiles operators and
    ``graph`` is the graph it runs, each kernel's time (``costmodel.kernel_times``; else None).

    Timed on this machine: the fastest of ``BLOCKS`` blocks of runs. Other processes only ever add time, and on a
    shared machine they do so in bursts within a block and in spells of minutes: the predictor suite's 42 models
    measured twice on ONNX Runtime, three minutes apart on a 2-core VM, repeated within ±10 % for 52 % of them by
    their fastest run and for 19 % by their quietest block's median. Timed on a device (``device_schemes``: the
    page's ``performance.now()`` can be as coarse as 0.1 ms, which a fastest run would round away): its runs are cut
    into ``BLOCKS`` consecutive blocks and the quietest block's median is kept."""
    import statistics

    from edgeport.bench.harness import PreparedBenchmark
    from edgeport.bench.ops import PROFILE_RUNS, breakdown
    from edgeport.predict.costmodel import kernel_times
    from edgeport.runtimes import RUNTIMES

    with PreparedBenchmark(artifact, dev.bench_runtime, dev.options, config=config) as bench:
        if bench.runtime.device_schemes:  # one call to the device, its runs cut into consecutive blocks here
            runs = bench.on_device(blocks=BLOCKS).samples_ms
            size = max(1, len(runs) // BLOCKS)
            blocks = [runs[i * size:(i + 1) * size] for i in range(BLOCKS)]
            return min(statistics.median(b) for b in blocks if b) / 1e3, None
        bench.warmup()
        fastest = min(min(bench.block(config.min_runs, config.min_duration_s)) for _ in range(BLOCKS)) / 1e3
        kernels = None
        if graph is not None and RUNTIMES.get(dev.bench_runtime).times_ops:
            kernels = kernel_times(breakdown(bench.time_ops(PROFILE_RUNS), dev.bench_runtime, graph), graph)
        return fastest, kernels


def measure_samples(models: Sequence[Path], dev: CalibrationDevice, *, config: Any = None,
                    work_dir: Path | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> tuple[list[Sample], list[str]]:
    """Benchmark each model (``measure_latency_s``: its latency and, where the runtime profiles them, its kernels'
    times) and compute its cost-model rows; failures are listed, not raised."""
    from edgeport.graph.load import load_graph

    config = config or bench_config()
    samples: list[Sample] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="edgeport-calib-") as tmp:
        work = Path(work_dir or tmp)
        for i, path in enumerate(models):
            name = Path(path).stem
            if progress:
                progress(name, i, len(models))
            try:
                art, converted = runnable(Path(path), dev.bench_runtime, work)
                graph = converted or load_graph(Path(path))
                feat = features(graph, dev.target, runtime=dev.runtime)
                latency, kernels = measure_latency_s(art, dev, config, graph)
                samples.append(Sample(name, feat, latency, kernels))
            except EdgeportError as exc:  # a model this runtime cannot convert or run: the fit uses the rest
                failed.append(f"{name}: {str(exc).splitlines()[0][:200]}")
    return samples, failed


def interval_of(rel_errors: Sequence[float], coverage: float = COVERAGE) -> float:
    """The |relative error| that ``coverage`` of the leave-one-out predictions are within."""
    return float(np.quantile(np.abs(np.asarray(rel_errors)), coverage)) if len(rel_errors) else float("inf")


def fit_calibrations(samples: Sequence[Sample], dev: CalibrationDevice, failed: Sequence[str]) -> tuple[
        list[Calibration], list[str]]:
    """One calibration per precision with at least ``MIN_MODELS`` samples; notes for the rest."""
    from edgeport.bench import conditions as cond

    by_precision: dict[str, list[Sample]] = {}
    for s in samples:
        by_precision.setdefault(s.features.precision, []).append(s)
    out, notes = [], []
    where = cond.capture(getattr(dev.options, "threads", None))
    for precision, group in sorted(by_precision.items()):
        if len(group) < MIN_MODELS:
            notes.append(f"{precision}: only {len(group)} model(s) measured (< {MIN_MODELS}): not fitted, "
                         "estimates stay uncalibrated")
            continue
        prior = CostParams.from_prior(dev.target.predictor, precision)
        params = fit_params(group, prior)
        loo = leave_one_out(group, prior)
        seen = sorted({c for s in group for c in s.features.classes()})
        out.append(Calibration(device=dev.device, runtime=dev.runtime, precision=precision, params=params,
                               models=[s.name for s in group], failed=list(failed), loo_rel_errors=loo,
                               interval=interval_of(loo), seen_classes=seen,
                               measured_ms={s.name: s.measured_s * 1e3 for s in group},
                               conditions=_conditions(dev, where), samples=list(group)))
    return out, notes


def _conditions(dev: CalibrationDevice, where: Any) -> dict[str, Any]:
    threads = getattr(dev.options, "threads", None)
    if dev.address == "host":
        return {"cpu": where.cpu_model, "threads": threads, "loaded": where.loaded}
    return {"measured_on": dev.address, "threads": threads, "host_loaded": where.loaded}


def calibrate(device: str = "host", runtime: str | None = None, models: Sequence[str | Path] = (), *,
              target: str | None = None, family: bool = True, threads: int = 1, config: Any = None,
              store: Any = None, save: bool = True,
              progress: Callable[[str, int, int], None] | None = None) -> CalibrationResult:
    """Measure the calibration family (unless ``family=False``) and ``models`` on ``device`` through ``runtime``,
    fit the cost model per precision and (``save``) keep each fit in the store for ``check``/``fit``/``optimize``."""
    from edgeport.predict.family import build_family

    dev = resolve_device(device, runtime, threads, target=target)
    user = [Path(m) for m in models]
    for m in user:
        if not m.exists():
            raise ConfigError(f"{m}: no such model file", fix="pass ONNX or TFLite model paths")
    with tempfile.TemporaryDirectory(prefix="edgeport-family-") as tmp:
        paths = (build_family(Path(tmp)) if family else []) + user
        if not paths:
            raise ConfigError("nothing to calibrate on", fix="keep the generated family or pass models")
        samples, failed = measure_samples(paths, dev, config=config, progress=progress)
    cals, notes = fit_calibrations(samples, dev, failed)
    if failed:
        notes.insert(0, f"{len(failed)} of {len(paths)} calibration model(s) failed and were left out; the fit "
                        f"uses the other {len(samples)}")
    if save:
        for cal in cals:
            save_calibration(cal, store)
    return CalibrationResult(dev.device, dev.runtime, threads, cals, len(samples), failed, notes, address=dev.address)


@dataclass(frozen=True)
class Measurement:
    """A model measured outside ``calibrate`` (a study's candidate), to join a stored calibration."""

    device: str  # the profile id calibrations are filed under: "host", or the target a device measured
    runtime: str  # the runtime it ran on there ("onnxruntime", "onnxruntime-web")
    threads: int | None
    name: str  # one per model and variant: a later measurement of the same name replaces the stored one
    model: Path  # ONNX or TFLite: the graph its cost-model rows come from
    measured_s: float  # median latency


def add_measurements(measurements: Sequence[Measurement], store: Any = None, *, save: bool = True) -> list[str]:
    """Add ``measurements`` to the stored calibration of their device, runtime, precision and thread count and fit
    it again (terms, leave-one-out errors, interval), keeping it in ``store`` (``save``). Returns one line per
    calibration: how far off it predicted the new models before the refit (largest first) and its interval
    before and after, or why they were not added. Without a stored calibration nothing is fitted: a study's few variants of one
    model are too alike to calibrate a device on their own."""
    from edgeport.graph.load import load_graph
    from edgeport.predict.calibration import find_calibration, load_calibrations
    from edgeport.predict.costmodel import predict_seconds

    cals = load_calibrations(store)
    groups: dict[tuple[str, str, str], list[tuple[Measurement, Sample]]] = {}
    notes: list[str] = []
    for m in measurements:
        if m.measured_s <= 0:
            continue
        try:
            feat = features(load_graph(m.model), get_target(m.device), runtime=m.runtime)
        except EdgeportError as exc:  # a format the graph loader does not read (OpenVINO IR, .pte): not added
            notes.append(f"{m.name}: not added to a calibration ({str(exc).splitlines()[0][:160]})")
            continue
        groups.setdefault((m.device, m.runtime, feat.precision), []).append((m, Sample(m.name, feat, m.measured_s)))
    uncalibrated: list[str] = []
    for (device, runtime, precision), items in sorted(groups.items()):
        key = f"{device}/{runtime}/{precision}"
        cal = find_calibration(cals, device, (runtime,), precision)
        if cal is None:
            uncalibrated.append(key)
            continue
        if not cal.samples:
            notes.append(f"{key}: its calibration was stored without its samples (an older edgeport): run edgeport "
                         "calibrate again to let studies add to it")
            continue
        threads = cal.conditions.get("threads")
        new = [s for m, s in items if m.threads == threads]
        if not new:
            notes.append(f"{key}: calibrated at {threads} thread(s), none of the {len(items)} measurement(s) ran so")
            continue
        before = [predict_seconds(s.features, cal.params) / s.measured_s - 1.0 for s in new]
        names = {s.name for s in new}
        group = [s for s in cal.samples if s.name not in names] + new
        prior = CostParams.from_prior(get_target(device).predictor, precision)
        loo = leave_one_out(group, prior)
        refit = replace(cal, params=fit_params(group, prior), models=[s.name for s in group], loo_rel_errors=loo,
                        interval=interval_of(loo), seen_classes=sorted({c for s in group for c in s.features.classes()}),
                        measured_ms={s.name: s.measured_s * 1e3 for s in group}, samples=group)
        if save:
            save_calibration(refit, store)
        errors = ", ".join(f"{e:+.0%}" for e in sorted(before, key=abs, reverse=True)[:4])
        notes.append(f"{key}: predicted the {len(new)} new model(s) {errors} off; refitted on {len(group)} models, "
                     f"interval ±{cal.interval:.0%} → ±{refit.interval:.0%}")
    if uncalibrated:
        notes.append(f"{', '.join(uncalibrated)}: not calibrated, so nothing to add to (edgeport calibrate makes a "
                     "calibration; studies then add their candidates to it)")
    return notes
