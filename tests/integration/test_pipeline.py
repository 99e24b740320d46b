"""The built-in example pipeline end to end (real studies, real runs), its budget and graph errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from edgeport.errors import ConfigError
from edgeport.pipeline import load_pipeline, run_pipeline
from edgeport.pipeline.compose import compose
from edgeport.pipeline.pipeline import check_wiring
from edgeport.pipeline.run import depths, schedule
from edgeport.pipeline.spec import StageInput

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory):
    """The example pipeline planned and run once: (path of its pipeline.toml, store, result)."""
    from edgeport.pipeline.example import example_pipeline_path
    from edgeport.store import Store

    root = tmp_path_factory.mktemp("pipeline")
    path = example_pipeline_path()
    store = Store(root / "store.db")
    return path, store, run_pipeline(path, store=store, out_dir=root / "out")


def _absolute(path: Path, **changes: str) -> str:
    """The example's pipeline.toml text with its files named by absolute path and ``changes`` applied."""
    text = path.read_text()
    for name in ("detector.onnx", "detector.npz", "reader.onnx", "glance.onnx", "glance.npz"):
        text = text.replace(f'"{name}"', f'"{path.parent / name}"')
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_example_meets_its_budget_and_the_host_run_matches_the_composition(example) -> None:
    _, _, result = example
    assert result.met
    host_plan = next(p for p in result.plans if p.target == "host")
    assert host_plan.measured and host_plan.expected_frame_ms <= result.budget_ms
    assert [c.stage for c in host_plan.choices] == ["detector", "reader", "glance"]
    for stage, choice in zip(result.stages, host_plan.choices):
        assert stage.verified >= 1 and choice.accuracy is not None and choice.accuracy > 0.9
        assert choice.accuracy_drop <= {"detector": 0.02, "reader": 0.01, "glance": 0.02}[choice.stage] + 1e-9
    rates = {c.stage: c.runs_per_frame for c in host_plan.choices}
    assert rates["detector"] == 1.0 and rates["glance"] == 0.5 and 0.5 < rates["reader"] < 0.9
    seq = result.host.sequential
    # Each sequential frame holds its stages' calls one after another, inside the frame's own clock readings.
    for frame_ms, spans in zip(seq.frame_ms, seq.timeline):
        spans = sorted(spans, key=lambda s: s.start_ms)
        assert all(a.end_ms <= b.start_ms for a, b in zip(spans, spans[1:]))
        assert 0.0 <= spans[0].start_ms and spans[-1].end_ms <= frame_ms
    # The composition counts each stage as often as the schedule runs it: its interval and the measured rate agree
    # in scale. How closely they agree is a timing claim, recorded by the pipeline benchmark suite (CI saw the
    # end-to-end run 13 % below the interval on a loaded 2-core runner), not asserted here.
    low, high = result.composed[0].fps_interval()
    assert 0.5 * low <= seq.fps <= 2.0 * high, (seq.fps, low, high)
    assert seq.fps >= 1000.0 / result.budget_ms  # the budget holds when measured, not only when composed
    assert result.host.resident_mb is not None and result.host.resident_mb > 0
    assert "onnxruntime" in result.host.runtime_mb
    phone = next(p for p in result.plans if p.target == "pixel-8")
    assert not phone.measured and all(c.estimated for c in result.target_composed["pixel-8"])
    doc = json.loads(Path(result.report_json).read_text())
    assert doc["schema"] == "edgeport/pipeline" and doc["data"]["host"]["sequential"]["timeline"]
    html = Path(result.report_html).read_text()
    assert "Per-frame timeline, sequential" in html and '"gantt-parallel"' in html


def test_runs_follow_the_schedule_and_the_graph(example) -> None:
    path, _, result = example
    spec = load_pipeline(path)
    plan = schedule(spec, spec.frames)
    for run in (result.host.sequential, result.host.parallel):
        assert len(run.frame_ms) == spec.frames
        for running, spans in zip(plan, run.timeline):
            assert {s.stage for s in spans} == running
            by = {s.stage: s for s in spans}
            if "reader" in by:  # it waits for the detector in both modes
                assert by["reader"].start_ms >= by["detector"].end_ms


def test_parallel_composition_takes_the_slowest_stage_of_each_depth(example) -> None:
    path, _, _ = example
    spec = load_pipeline(path)
    levels = depths(spec)
    assert levels == [["detector", "glance"], ["reader"]]
    frames = [{"detector", "glance", "reader"}, {"detector"}, {"detector", "glance"}, {"detector", "reader"}]
    latency = {"detector": 2.0, "glance": 3.0, "reader": 5.0}
    seq = compose(frames, levels, latency, "sequential", "test", False)
    par = compose(frames, levels, latency, "parallel", "test", False)
    assert seq.mean_ms == pytest.approx((10 + 2 + 5 + 7) / 4)
    assert par.mean_ms == pytest.approx((8 + 2 + 3 + 7) / 4)
    assert seq.low_ms is None and seq.fps_interval() is None  # one number per stage: no interval
    sampled = compose(frames, levels, {k: [v, v] for k, v in latency.items()}, "parallel", "test", False)
    assert sampled.low_ms == pytest.approx(par.mean_ms) == sampled.high_ms


def test_a_budget_no_choice_meets_lists_the_closest_and_exits_1(example, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    path, store, _ = example
    file = tmp_path / "tight.toml"
    file.write_text(_absolute(path, **{"fps = 200": "fps = 2000000"}))
    res = CliRunner().invoke(app, ["--store", str(store.path), "pipeline", str(file), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1, res.output
    assert "no choice meets the 0.0005 ms budget on host: the closest takes an expected frame of" in " ".join(
        res.output.split())
    doc = json.loads((tmp_path / "o" / "report.json").read_text())["data"]
    host = next(p for p in doc["plans"] if p["target"] == "host")
    assert not host["met"] and host["closest"]
    assert all(c["expected_frame_ms"] > 0.0005 for c in host["closest"])
    assert host["closest"] == sorted(host["closest"], key=lambda c: c["expected_frame_ms"])


def test_graph_errors_name_both_ends(example, tmp_path: Path) -> None:
    from edgeport import load_artifact

    path, _, _ = example
    spec = load_pipeline(path)
    models = {s.name: load_artifact(s.model) for s in spec.stages}
    reader = dataclasses.replace(spec.stage("reader"), inputs=(StageInput("x", upstream="detector", output="logits"),))
    wired = dataclasses.replace(spec, stages=(spec.stages[0], reader, spec.stages[2]))
    with pytest.raises(ConfigError, match=r"stage reader input x \(\?x1x8x8\) does not match detector output "
                                          r"logits \(\?x26\)"):
        check_wiring(wired, models)
    loop = tmp_path / "loop.toml"
    loop.write_text(_absolute(path, **{'name = "detector"\n': 'name = "detector"\nafter = ["reader"]\n'}))
    with pytest.raises(ConfigError, match=r"cycle \((detector -> reader -> detector|reader -> detector -> reader)\)"):
        load_pipeline(loop)
    both = tmp_path / "both.toml"
    both.write_text(_absolute(path, **{"fps = 200": "fps = 200\nmax_frame_ms = 5"}))
    with pytest.raises(ConfigError, match="exactly one positive frame budget"):
        load_pipeline(both)
