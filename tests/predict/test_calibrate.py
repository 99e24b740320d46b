"""A real (small) calibration on host ONNX Runtime, the store round trip, RAPL on a fake sysfs tree, the CLI."""

from __future__ import annotations

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
