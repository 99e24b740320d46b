"""A real (small) calibration on host ONNX Runtime, the store round trip, RAPL on a fake sysfs tree, the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app
from edgeport.predict.energy import RaplMeter, measure_energy_mj, rapl_domains

pytest.importorskip("onnxruntime")
pytest.importorskip("scipy")

FEW = ("conv-c8-s32-d2", "conv-c32-s16-d2", "mlp-w64-d2", "mlp-w256-d3", "eltwise-c16-s32-d4", "pool-c16-s64-d2")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory):
    """Six family networks and one corrupt file measured on ONNX Runtime with a tiny benchmark, fitted and stored."""
    from edgeport.bench.harness import BenchmarkConfig
    from edgeport.predict.calibrate import calibrate
    from edgeport.predict.family import FAMILY, build_family
    from edgeport.store import Store

    root = tmp_path_factory.mktemp("calib")
    nets = build_family(root / "nets", keep=lambda s: s.name in FEW)
    broken = root / "broken.onnx"
    broken.write_bytes(b"not a model")
    store = Store(root / "store.db")
    config = BenchmarkConfig(warmup_runs=2, warmup_min_s=0.0, min_runs=5, min_duration_s=0.01, max_duration_s=1.0,
                             distinct_inputs=1)
    result = calibrate("host", "onnxruntime", [*nets, broken], family=False, config=config, store=store)
    assert len(FAMILY) >= 30
    return result, store, nets


def test_calibration_fits_what_ran_and_names_what_failed(calibrated):
    result, _, nets = calibrated
    assert result.measured == len(nets) and len(result.failed) == 1 and result.failed[0].startswith("broken:")
    assert result.notes[0].startswith("1 of 7 calibration model(s) failed and were left out; the fit uses the other 6")
    (cal,) = result.calibrations
    assert cal.key == "host/onnxruntime/fp32" and sorted(cal.models) == sorted(FEW)
    assert len(cal.loo_rel_errors) == 6 and 0 < cal.interval < 10
    assert {"conv", "matmul", "elementwise", "pool_reduce"} <= set(cal.seen_classes)
    assert all(v > 0 for v in cal.measured_ms.values())


def test_check_uses_the_stored_calibration(calibrated, tmp_path: Path):
    from edgeport.analysis.check import check
    from edgeport.predict.calibration import load_calibrations
    from edgeport.predict.family import FAMILY, build_net

    _, store, nets = calibrated
    cals = load_calibrations(store)
    assert [c.key for c in cals] == ["host/onnxruntime/fp32"]
    res = check(nets[0], ["host", "pixel-8"], calibrations=cals)
    host, phone = (t.compat.estimate for t in res.targets)
    assert host.calibrated and host.label.startswith("calibrated on 6 models (±")
    assert host.low_ms < host.latency_ms < host.high_ms
    assert not phone.calibrated and phone.label == "uncalibrated estimate (within ~5×)"
    assert phone.energy_mj == pytest.approx(phone.latency_ms * 5.0)  # the Pixel 8 profile's 5 W
    # a model with a class the six never contained: the interval widens and says which
    spec = next(s for s in FAMILY if s.name == "act-c16-s32-d3")
    act = check(build_net(spec, tmp_path / "act.onnx"), ["host"], calibrations=cals).targets[0].compat.estimate
    assert "transcendental" in act.unseen_classes and "unseen op classes" in act.label


def test_a_fit_of_an_older_cost_model_is_not_used(calibrated, tmp_path: Path):
    """Terms fitted to other equations mean something else: a newer stored fit of an older cost model is passed
    over (the estimate goes uncalibrated until calibrate runs again), not read as this model's."""
    import dataclasses

    from edgeport.predict.calibration import load_calibrations, save_calibration
    from edgeport.store import Store

    _, store, _ = calibrated
    (cal,) = load_calibrations(store)
    other = Store(tmp_path / "other.db")
    save_calibration(cal, other)
    save_calibration(dataclasses.replace(cal, cost_model=cal.cost_model - 1, models=["old"]), other)
    assert [c.models for c in load_calibrations(other)] == [cal.models]  # the older equations' newer fit: skipped
    only_old = Store(tmp_path / "old.db")
    save_calibration(dataclasses.replace(cal, cost_model=cal.cost_model - 1), only_old)
    assert load_calibrations(only_old) == []


def test_cli_check_and_json_carry_labels(calibrated, tmp_path: Path):
    _, store, nets = calibrated
    res = CliRunner().invoke(app, ["--store", str(store.path), "check", str(nets[0]), "-t", "host,pixel-8", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    est = [t["compat"]["estimate"] for t in doc["data"]["targets"]]
    assert est[0]["label"].startswith("calibrated on 6 models") and est[1]["label"].startswith("uncalibrated")
    assert est[1]["energy_label"].startswith("estimate: latency × 5 W")
    text = CliRunner().invoke(app, ["--store", str(store.path), "check", str(nets[0]), "-t", "host"]).output
    assert "latency calibrated on 6 models" in " ".join(text.split())
    fit = CliRunner().invoke(app, ["--store", str(store.path), "fit", str(nets[0]), "--device", "stm32h743", "--json"])
    latency = json.loads(fit.output)["data"]["latency"]
    assert latency["label"] == "uncalibrated estimate (within ~3×)" and latency["energy_mj"] > 0


def test_calibrate_names_an_unknown_device_and_an_unreachable_agent(calibrated, tmp_path: Path):
    res = CliRunner().invoke(app, ["calibrate", "--device", "phone"])
    assert res.exit_code == 2 and "unknown device 'phone'" in res.output
    _, _, nets = calibrated
    res = CliRunner().invoke(app, ["--store", str(tmp_path / "s.db"), "calibrate", "--device", "agent://127.0.0.1:9",
                                   "--target", "rpi5", "--no-family", str(nets[0])])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "cannot reach the agent at agent://127.0.0.1:9 (connection refused)" in text
    assert "1 of 1 calibration model(s) failed" in text


def test_a_calibration_keeps_its_samples_and_refits_with_new_measurements(calibrated, tmp_path: Path):
    """Models measured elsewhere join the stored fit: its terms, leave-one-out errors and interval are fitted
    again on the stored samples plus the new ones; a measurement of the same name replaces the earlier one."""
    import dataclasses

    from edgeport.bench.harness import BenchmarkConfig
    from edgeport.core.target import get_target
    from edgeport.graph.load import load_graph
    from edgeport.predict.calibrate import Measurement, add_measurements, measure_samples, resolve_device
    from edgeport.predict.calibration import load_calibrations, save_calibration
    from edgeport.predict.costmodel import features
    from edgeport.predict.family import build_family
    from edgeport.store import Store

    _, store, nets = calibrated
    (cal,) = load_calibrations(store)
    assert [s.name for s in cal.samples] == [n.stem for n in nets]  # read back from the store's JSON
    assert cal.samples[0].features == features(load_graph(nets[0]), get_target("host"), runtime="onnxruntime")
    # ONNX Runtime profiles its kernels: each sample keeps one time per node that runs, read back keyed by position
    for s in cal.samples:
        assert s.kernels and set(s.kernels) <= set(range(len(s.features.nodes))) and min(s.kernels.values()) > 0
        assert sum(s.kernels.values()) < 3 * s.measured_s  # the profiled kernels of one run, not a sum over runs
    new = build_family(tmp_path / "new", keep=lambda s: s.name in ("conv-c16-s32-d3", "mlp-w512-d4"))
    config = BenchmarkConfig(warmup_runs=2, warmup_min_s=0.0, min_runs=5, min_duration_s=0.01, max_duration_s=1.0,
                             distinct_inputs=1)
    measured, failed = measure_samples(new, resolve_device("host", "onnxruntime"), config=config)
    assert not failed
    other = Store(tmp_path / "other.db")
    save_calibration(cal, other)
    adds = [Measurement("host", "onnxruntime", 1, f"study:{s.name}", p, s.measured_s) for s, p in zip(measured, new)]
    (line,) = add_measurements(adds, other)
    assert line.startswith("host/onnxruntime/fp32: predicted the 2 new model(s) ") and "refitted on 8 models" in line
    (refit,) = load_calibrations(other)
    assert refit.models[-2:] == ["study:conv-c16-s32-d3", "study:mlp-w512-d4"] and len(refit.loo_rel_errors) == 8
    assert refit.params != cal.params and len(refit.samples) == 8
    again = dataclasses.replace(adds[0], measured_s=adds[0].measured_s * 2)
    add_measurements([again], other)
    (twice,) = load_calibrations(other)
    assert len(twice.models) == 8 and twice.measured_ms["study:conv-c16-s32-d3"] == pytest.approx(
        2e3 * adds[0].measured_s)
    # what is not added says why: another thread count, a runtime with no calibration, an older stored fit
    (threads,) = add_measurements([dataclasses.replace(adds[0], threads=2)], other)
    assert threads == "host/onnxruntime/fp32: calibrated at 1 thread(s), none of the 1 measurement(s) ran so"
    (uncal,) = add_measurements([dataclasses.replace(adds[0], runtime="openvino")], other)
    assert uncal.startswith("host/openvino/fp32: not calibrated, so nothing to add to (edgeport calibrate")
    old = Store(tmp_path / "old.db")
    save_calibration(dataclasses.replace(cal, samples=[]), old)
    (stale,) = add_measurements(adds, old)
    assert "stored without its samples" in stale and load_calibrations(old)[0].models == cal.models


def test_a_study_adds_its_measured_candidates_to_the_calibration(calibrated, tmp_path: Path):
    from edgeport.predict.calibration import load_calibrations, save_calibration
    from edgeport.store import Store
    from edgeport.study.options import QUICK_BENCH, StudyOptions
    from edgeport.study.study import run_study

    _, store, _ = calibrated
    (cal,) = load_calibrations(store)
    other = Store(tmp_path / "study.db")
    save_calibration(cal, other)
    options = StudyOptions(targets=("host",), threads=(1,), formats=("onnx",), precisions=("fp32",),
                           runtimes=("onnxruntime",), out_dir=str(tmp_path / "out"), bench=QUICK_BENCH)
    result = run_study(options, store=other)
    (cand,) = [c for c in result.candidates if c.status == "ok"]
    (line,) = result.calibration
    assert line.startswith("host/onnxruntime/fp32: predicted the 1 new model(s) ") and "refitted on 7 models" in line
    (refit,) = load_calibrations(other)
    name = refit.models[-1]
    assert name.startswith("study:") and name.endswith(cand.key)
    # the candidate's fastest run, as calibrate times a model
    assert refit.measured_ms[name] == pytest.approx(cand.latency_ms.min) and cand.latency_ms.min <= cand.median_ms
    doc = json.loads(Path(result.report_json).read_text())
    assert doc["data"]["calibration"] == [line]
    assert "Latency calibrations this study added to" in Path(result.report_html).read_text()
    resumed = run_study(options, store=other)  # the same candidate again: it replaces itself
    assert resumed.resumed == 1 and len(load_calibrations(other)[0].models) == 7
    untouched = Store(tmp_path / "untouched.db")
    save_calibration(cal, untouched)
    quiet = run_study(dataclasses.replace(options, calibrate=False, out_dir=str(tmp_path / "out2")), store=untouched)
    assert quiet.calibration == [] and load_calibrations(untouched)[0].models == cal.models


def _rapl(root: Path, uj: int, top: int = 1000) -> Path:
    d = root / "intel-rapl:0"
    (root / "intel-rapl:0:0").mkdir(parents=True)  # a sub-domain (core): not counted again
    (root / "intel-rapl:0:0" / "energy_uj").write_text("5")
    d.mkdir(exist_ok=True)
    (d / "energy_uj").write_text(str(uj))
    (d / "max_energy_range_uj").write_text(str(top))
    (d / "name").write_text("package-0\n")
    return d


def test_rapl_reader_on_a_fake_tree_with_wraparound(tmp_path: Path):
    pkg = _rapl(tmp_path, 990)
    assert rapl_domains(tmp_path) == [pkg]

    def run_block() -> int:  # ten inferences, during which the counter wraps past its 1000 µJ range
        (pkg / "energy_uj").write_text("10")
        return 10

    reading = measure_energy_mj(run_block, tmp_path)
    assert reading.mj_per_inference == pytest.approx(20 / 1e3 / 10)  # 990 → 1000 → 10: 20 µJ
    assert reading.label.startswith("measured (RAPL package-0")


def test_rapl_unavailable_says_why(tmp_path: Path):
    assert measure_energy_mj(lambda: 1, tmp_path / "none").label.startswith("unavailable: no RAPL domains")
    pkg = _rapl(tmp_path, 1)
    (pkg / "max_energy_range_uj").unlink()
    (pkg / "max_energy_range_uj").mkdir()  # unreadable
    assert measure_energy_mj(lambda: 1, tmp_path).label.startswith("unavailable: RAPL counters not readable")
    here = RaplMeter()  # this machine: measured where readable, else said to be unavailable — never a TDP
    assert here.available == (measure_energy_mj(lambda: 1).mj_per_inference is not None)
