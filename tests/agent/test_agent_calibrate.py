"""``calibrate --device agent://…``: the family networks timed on a loopback agent (its own loop, one core),
fitted and filed under the device's profile, where ``check`` then finds it; an agent no profile names needs
``--target``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app
from edgeport.errors import ConfigError

pytest.importorskip("scipy")

FEW = ("conv-c8-s32-d2", "conv-c32-s16-d2", "mlp-w64-d2", "mlp-w256-d3", "eltwise-c16-s32-d4")
BIG = "pool-c16-s64-d2"  # four distinct 16×64×64 fp32 inputs: over the test agent's 1 MiB body limit


@pytest.fixture(scope="module")
def nets(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from edgeport.predict.family import build_family

    return build_family(tmp_path_factory.mktemp("nets"), keep=lambda s: s.name in FEW)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgeport.predict.family import build_family

    (path,) = build_family(tmp_path_factory.mktemp("big"), keep=lambda s: s.name == BIG)
    return path


def test_calibration_on_an_agent_is_filed_under_its_profile_and_used_by_check(agent, with_token, nets, big,
                                                                             tmp_path: Path) -> None:
    from edgeport.analysis.check import check
    from edgeport.bench.harness import BenchmarkConfig
    from edgeport.predict.calibrate import calibrate
    from edgeport.predict.calibration import load_calibrations
    from edgeport.store import Store

    store = Store(tmp_path / "store.db")
    config = BenchmarkConfig(warmup_runs=2, warmup_min_s=0.0, min_runs=5, min_duration_s=0.01, max_duration_s=1.0,
                             distinct_inputs=4)
    result = calibrate(agent.address, "onnxruntime", [*nets, big], target="rpi5", family=False,
                       config=config, store=store)
    assert result.measured == len(FEW) and result.address == agent.address
    # a network the agent cannot take is left out with the reason, before anything is sent
    (failed,) = result.failed
    assert failed.startswith(f"{BIG}: the bench job's tensors are ") and "over the agent's limit of 1.00 MiB" in failed
    assert result.notes[0].startswith("1 of 6 calibration model(s) failed and were left out; the fit uses the other 5")
    (cal,) = result.calibrations
    assert cal.key == "rpi5/onnxruntime/fp32" and sorted(cal.models) == sorted(FEW)
    assert cal.conditions["measured_on"] == agent.address and all(v > 0 for v in cal.measured_ms.values())
    cals = load_calibrations(store)
    assert [c.key for c in cals] == ["rpi5/onnxruntime/fp32"]
    est = check(nets[0], ["rpi5", "rpi4"], calibrations=cals).targets
    assert est[0].compat.estimate.calibrated and est[0].compat.estimate.label.startswith("calibrated on 5 models")
    assert not est[1].compat.estimate.calibrated  # another profile keeps its prior
    # the fitted estimate is on the scale of the agent's measurement of a model it was fitted on
    measured = cal.measured_ms[Path(nets[0]).stem]
    e = est[0].compat.estimate
    assert e.low_ms / 3 <= measured <= e.high_ms * 3


def test_an_agent_no_profile_names_needs_a_target(agent, with_token, nets, tmp_path: Path) -> None:
    from edgeport.predict.calibrate import resolve_device

    with pytest.raises(ConfigError) as exc:
        resolve_device(agent.address, "onnxruntime")
    assert "no device profile names" in str(exc.value) and "--target" in (exc.value.fix or "")
    res = CliRunner().invoke(app, ["--store", str(tmp_path / "s.db"), "calibrate", "--device", agent.address,
                                   "--no-family", str(nets[0]), "--json"])
    assert res.exit_code != 0 and "no device profile names" in " ".join(res.output.split())
    with pytest.raises(ConfigError, match="only filed under its own profile"):
        resolve_device("host", target="rpi5")


def test_cli_calibrates_on_an_agent(agent, with_token, nets, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["--store", str(tmp_path / "s.db"), "calibrate", "--device", agent.address,
                                   "--target", "rpi5", "--no-family", *map(str, nets), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)["data"]
    assert doc["device"] == "rpi5" and doc["address"] == agent.address and doc["measured"] == len(FEW)
    assert doc["calibrations"][0]["runtime"] == "onnxruntime"
