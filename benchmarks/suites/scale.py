"""Scale: the same sweep of small models serially and on a local Ray over this machine's CPUs.

Targets: the build+verify phase on Ray at least 1.6× faster than the serial study (which already runs up
to two conversions at a time), and the host benchmark medians unchanged within noise (Ray times every
candidate on one actor, one at a time, after the builds — never beside them). Ray's start-up is outside
the phases and shown in the wall time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

NAME = "scale"
TITLE = "Scale: a sweep of small models, serial vs Ray (build+verify speed-up, benchmark medians)"
ORDER = 90


def _models(ctx: Context) -> list[str]:
    """The digits CNN and two small reference CNNs (MobileNetV2 ×0.35 at 64², ResNet-18 at 32²), as .pt2."""
    from edgeport.data import zoo
    from edgeport.data.examples import digits_model_path

    work = ctx.work_dir / "scale"
    models = [str(digits_model_path(work / "digits"))]
    if not ctx.smoke:
        small = {"mnv2-035": (zoo.mobilenet_v2(num_classes=10, width_mult=0.35, calibrate_bn=True, resolution=64),
                              64),
                 "resnet18-32": (zoo.resnet18(num_classes=10, calibrate_bn=True, resolution=32), 32)}
        for name, (model, res) in small.items():
            models.append(str(zoo.export_pt2(model, (1, 3, res, res), work / name / f"{name}.pt2",
                                             dynamic_batch=False)))
    return models


def _sweep(models: list[str], options: Any, out: Path) -> tuple[Any, float, dict[str, dict[str, float]]]:
    from edgeport.store import Store
    from edgeport.study.sweep import run_sweep

    start = time.perf_counter()
    fleet = run_sweep(models, dataclasses.replace(options, out_dir=str(out)), store=Store(out / "store.db"))
    wall = time.perf_counter() - start
    medians: dict[str, dict[str, float]] = {}
    for m in fleet.models:
        doc = json.loads(Path(m.report_json).read_text())
        medians[m.model] = {c["key"]: c["latency_ms"]["median"] for c in doc["data"]["candidates"]
                            if c["status"] == "ok" and c["latency_ms"]["median"] is not None}
    return fleet, wall, medians


def run(ctx: Context) -> SuiteResult:
    import ray

    from edgeport.study.options import BenchSettings, StudyOptions

    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("scale", "smoke mode: starts Ray and runs two sweeps (tests cover the path)")
        return suite
    cpus = os.cpu_count() or 1
    models = _models(ctx)
    bench = BenchSettings(warmup_runs=5, min_runs=50, min_seconds=0.3, max_runs=2000, max_seconds=3.0)
    options = StudyOptions(targets=("host",), threads=(1,), formats=("onnx",), runtimes=("onnxruntime",),
                           bench=bench, resume=False)
    phases = Table(f"{len(models)} models × their onnx builds (fp32, fp16, int8 dynamic and static) on ONNX Runtime, "
                   f"1 thread, {cpus} CPUs",
                   ["executor", ("build_verify_s", "build+verify s"), ("benchmark_s", "benchmark s"),
                    ("wall_s", "wall s (Ray: with start-up)"), ("candidates", "candidates ok")])
    latencies = Table("Host benchmark medians, the same candidates serial vs Ray",
                      ["model", "candidate", ("serial_ms", "serial ms"), ("ray_ms", "Ray ms"),
                       ("ratio", "Ray / serial")])
    suite.tables += [phases, latencies]
    try:
        with measured(phases, 1):
            serial, serial_wall, serial_ms = _sweep(models, options, ctx.work_dir / "scale" / "serial")
            start = time.perf_counter()
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            try:
                on_ray, _, ray_ms = _sweep(models, dataclasses.replace(options, executor="ray"),
                                                  ctx.work_dir / "scale" / "ray")
            finally:
                ray.shutdown()
            ray_wall = time.perf_counter() - start  # with Ray's start-up and shut-down
    except Exception as exc:  # recorded; the other suites still run
        suite.skip("sweep", one_line(exc))
        return suite
    for name, fleet, wall in (("serial", serial, serial_wall), ("ray", on_ray, ray_wall)):
        phases.add(executor=name, build_verify_s=fleet.phase_seconds.get("build+verify"),
                   benchmark_s=fleet.phase_seconds.get("benchmark"), wall_s=round(wall, 1),
                   candidates=f"{sum(m.ok for m in fleet.models)}/{sum(m.candidates for m in fleet.models)}")
    ratios = []
    for model, by_key in serial_ms.items():
        for key, ms in by_key.items():
            other = ray_ms.get(model, {}).get(key)
            ratio = other / ms if other and ms else None
            if ratio is not None:
                ratios.append(ratio)
            latencies.add(model=Path(model).stem, candidate=key, serial_ms=ms, ray_ms=other, ratio=ratio)
    speedup = serial.phase_seconds["build+verify"] / on_ray.phase_seconds["build+verify"]
    suite.target("build+verify: 1.6 / (Ray's speed-up over serial); below 1 = at least 1.6× faster", 1.6 / speedup,
                 1.0, "", note=f"speed-up {speedup:.2f}× on {cpus} CPUs")
    if ratios:
        drift = statistics.median(abs(r - 1.0) for r in ratios) * 100
        suite.target("benchmark medians, Ray vs serial: median of abs(ratio − 1)", drift, 10.0, "%")
    suite.notes.append("one serial and one Ray sweep on a shared, loaded machine (other jobs ran beside them): "
                       "treat the speed-up and the ratios as indicative, not precise")
    return suite
