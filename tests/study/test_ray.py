"""The study on Ray: one local Ray (2 CPUs, no dashboard) for the module, real builds, real runs.

The same small study (the digits CNN as ONNX: fp32, fp16 and int8, on ONNX Runtime) runs serially and on
Ray — with a build worker killed half-way — and must give the same candidates, verdicts and
recommendations; then a two-model sweep runs through the same Ray.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from edgeport.store import Store
from edgeport.study.options import QUICK_BENCH, Constraints, StudyOptions

pytestmark = pytest.mark.slow

RETRIED_TASK = "ray::build_task"  # the process title Ray gives a worker while it runs a build


class _Killer(threading.Thread):
    """SIGKILLs the first Ray worker seen running a build (once), then stops; gives up after ``limit_s``."""

    def __init__(self, limit_s: float = 240.0) -> None:
        super().__init__(daemon=True)
        self.killed: list[int] = []
        self.stop = threading.Event()
        self.limit_s = limit_s

    def run(self) -> None:
        import psutil

        deadline = time.monotonic() + self.limit_s
        while not self.stop.is_set() and time.monotonic() < deadline:
            for proc in psutil.process_iter(["cmdline"]):
                cmd = proc.info.get("cmdline") or []
                if cmd and cmd[0].startswith(RETRIED_TASK):
                    os.kill(proc.pid, signal.SIGKILL)
                    self.killed.append(proc.pid)
                    return
            time.sleep(0.01)


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def studies(local_ray, digits_onnx, tmp_path_factory: pytest.TempPathFactory):
    from edgeport.study.study import run_study

    root = tmp_path_factory.mktemp("ray-study")
    int8_only = Constraints(max_size_mb=0.1)  # only the int8 build fits: the pick does not hang on timing noise
    options = StudyOptions(model=str(digits_onnx.path), data="digits", targets=("host", "pixel-8", "cortex-m7"),
                           threads=(1,), formats=("onnx",), precisions=("fp32", "fp16", "int8"),
                           runtimes=("onnxruntime",), bench=QUICK_BENCH, constraints=int8_only)
    serial = run_study(dataclasses.replace(options, out_dir=str(root / "serial")), store=Store(root / "serial.db"))
    killer = _Killer()
    killer.start()
    try:
        on_ray = run_study(dataclasses.replace(options, executor="ray", out_dir=str(root / "ray")),
                           store=Store(root / "ray.db"))
    finally:
        killer.stop.set()
        killer.join()
    return serial, on_ray, killer.killed, options, root


def test_ray_gives_the_serial_study(studies) -> None:
    serial, on_ray, _, _, _ = studies
    assert on_ray.study_id == serial.study_id  # the executor is not part of the fingerprint
    assert [c.key for c in on_ray.candidates] == [c.key for c in serial.candidates]
    assert len(serial.candidates) == 3
    for s, r in zip(serial.candidates, on_ray.candidates, strict=True):
        assert (r.status, r.verified, r.size_bytes) == (s.status, s.verified, s.size_bytes), r.key
        assert {t: f.verdict for t, f in r.targets.items()} == {t: f.verdict for t, f in s.targets.items()}
        assert r.accuracy == s.accuracy and r.latency_ms.median > 0
    assert [(x.target, x.key) for x in on_ray.recommendations] == [(x.target, x.key) for x in serial.recommendations]
    host = next(x for x in on_ray.recommendations if x.target == "host")
    assert host.key is not None and "int8" in host.key


def test_a_killed_build_worker_is_retried_and_leaves_no_partial_artifact(studies) -> None:
    from edgeport.study.artifacts import PARTIAL_PREFIX, content_digest

    _, on_ray, killed, _, root = studies
    assert killed, "no build worker was seen to kill"
    assert all(c.status == "ok" for c in on_ray.candidates)
    variants = root / "ray" / "variants"
    assert not list(variants.glob(f"{PARTIAL_PREFIX}*"))
    built = [Path(c.artifact) for c in on_ray.candidates if c.precision != "fp32"]
    assert len(built) == 2
    for path in built:  # content-addressed: each directory is named by what it holds
        assert path.parent.parent == variants.resolve() and path.parent.name == content_digest(path.parent)[:20]


def test_serial_and_ray_runs_resume_each_other(studies) -> None:
    from edgeport.study.study import run_study

    serial, _, _, options, root = studies
    again = run_study(dataclasses.replace(options, executor="ray", out_dir=str(root / "serial")),
                      store=Store(root / "serial.db"))
    assert again.resumed == len(again.candidates) == len(serial.candidates)
    assert [c.timed for c in again.candidates] == [c.timed for c in serial.candidates]  # nothing re-measured


@pytest.fixture(scope="module")
def sweep(studies):
    from edgeport.study.sweep import run_sweep

    _, on_ray, _, options, root = studies
    int8 = next(c.artifact for c in on_ray.candidates if c.precision.startswith("int8"))
    models = [options.model, int8]
    sweep_options = dataclasses.replace(options, precisions=("fp32",), executor="ray", out_dir=str(root / "sweep"),
                                        constraints=Constraints())
    return run_sweep(models, sweep_options, store=Store(root / "sweep.db")), models


def test_a_two_model_sweep_writes_the_fleet_report(sweep) -> None:
    fleet, models = sweep
    doc = json.loads(Path(fleet.report_json).read_text())
    assert doc["schema"] == "edgeport/fleet"
    rows = doc["data"]["rows"]
    assert {(r["model"], r["target"]) for r in rows} == {(m, t) for m in models for t in ("host", "pixel-8",
                                                                                         "stm32h743")}
    host = [r for r in rows if r["target"] == "host"]
    assert all(r["pick"] and r["measured"] and r["latency_ms"] > 0 and r["accuracy"] > 0.9 for r in host)
    sizes = {r["model"]: r["size_bytes"] for r in host}
    assert sizes[models[1]] < sizes[models[0]]  # the int8 model is the smaller one
    html = Path(fleet.report_html).read_text()
    assert all(Path(m).name in html for m in models) and "What to ship" in html
    for m in fleet.models:
        assert Path(m.report_html).exists() and m.ok == m.candidates == 1


def test_benchmark_windows_on_one_device_never_overlap(studies, sweep) -> None:
    from edgeport.study.candidate import TimingWindow

    _, on_ray, _, _, _ = studies
    fleet, _ = sweep
    timed = [c.timed for c in on_ray.candidates]
    for m in fleet.models:  # both models' benchmarks went through the sweep's one host actor
        doc = json.loads(Path(m.report_json).read_text())
        timed += [TimingWindow.from_json(c["timed"]) for c in doc["data"]["candidates"]]
    assert len(timed) == 5 and all(w is not None and "ray node" in w.node for w in timed)
    windows = sorted((w.start, w.end) for w in timed if w is not None)
    assert all(end > start for start, end in windows)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(windows, windows[1:]))
