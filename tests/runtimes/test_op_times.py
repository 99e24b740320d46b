"""Per-operator times from the runtimes' own profilers, tied to graph nodes and op classes; ``bench --ops``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeport.bench.ops import graph_node_for
from edgeport.cli.main import app
from edgeport.runtimes.onnxruntime import _op_timing

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def nets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from edgeport.predict.family import FAMILY, build_net

    root = tmp_path_factory.mktemp("opnets")
    wanted = ("dwsep-c32-s56-d2", "mixed-c16-s32-d2")
    return {s.name: build_net(s, root / f"{s.name}.onnx", seed=i) for i, s in enumerate(FAMILY) if s.name in wanted}


def test_kernel_names_find_the_node_they_are_named_after():
    nodes = {"conv3", "relu4", "/layer1/conv/Conv", "add"}
    assert graph_node_for("relu4_nchwc", nodes) == "relu4"  # ONNX Runtime: NCHWc Conv+ReLU named after the ReLU
    assert graph_node_for("conv3/WithoutBiases", nodes) == "conv3"  # OpenVINO
    assert graph_node_for("/layer1/conv/Conv", nodes) == "/layer1/conv/Conv"  # exported names hold slashes
    assert graph_node_for("/layer1/conv/Conv_token_7", nodes) == "/layer1/conv/Conv"
    assert graph_node_for("fused conv3", nodes) == "conv3"  # ONNX Runtime: Gemm/Conv + activation fusions
    assert graph_node_for("ReorderInput", nodes) is None
    assert graph_node_for("addition", nodes) is None  # a prefix only counts before a separator
    # a kernel named after the tensor a node writes (ONNX Runtime's NCHWc kernels in a PaddlePaddle export)
    aliases = {"p2o.Conv.0": "p2o.Conv.0", "conv2d_0.tmp_0": "p2o.Conv.0"}
    assert graph_node_for("conv2d_0.tmp_0_nchwc", aliases) == "p2o.Conv.0"


def test_ort_trace_runs_are_split_by_their_model_run_spans():
    """Two warm-up runs dropped; a node run twice inside one run (a loop body) counts its sum; the If holding
    that body keeps only its own time (the trace lists the body's kernels inside its span); medians per kernel."""
    def kernel(name: str, ts: int, dur: int) -> dict:
        return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": name.upper()}}

    trace = []
    for run, (a, b) in enumerate([(900, 900), (800, 800), (10, 5), (12, 6), (30, 7)]):
        start = 1000 * run
        trace += [{"cat": "Session", "name": "model_run", "ts": start, "dur": 100},
                  kernel("conv", start + 1, a), kernel("if", start + 19, 2 * b + 30),
                  kernel("body", start + 20, b), kernel("body", start + 40, b)]
    timing = _op_timing(trace, warmup=2)
    assert timing.runs == 3 and timing.run_us == 100
    assert [(o.name, o.kind, o.us) for o in timing.ops] == [("conv", "CONV", 12), ("if", "IF", 30),
                                                             ("body", "BODY", 12)]


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_profiled_kernels_cover_the_run_and_name_their_nodes(runtime, nets):
    pytest.importorskip(runtime)
    from edgeport.bench.harness import time_ops
    from edgeport.graph.load import load_graph
    from edgeport.core.target import get_target
    from edgeport.predict.costmodel import class_shares, features, kernel_times

    path = nets["dwsep-c32-s56-d2"]
    graph = load_graph(path)
    ops = time_ops(path, runtime, runs=20)
    assert ops.runtime == runtime and ops.runs == 20 and ops.rows
    assert all(r.us >= 0 for r in ops.rows) and abs(sum(r.share for r in ops.rows) - 1) < 1e-9
    # the kernels are most of a profiled run, never far more (OpenVINO's counters are recovered from running means)
    assert 0.5 * ops.run_us < ops.kernels_us < 1.3 * ops.run_us, (ops.kernels_us, ops.run_us)
    named = [r for r in ops.rows if not r.inserted]
    assert named and all(r.node in {n.name for n in graph.nodes} for r in named), [r.name for r in named]
    # two depthwise and two pointwise convolutions, each with its activation fused: both classes, nothing else
    kernels = kernel_times(ops, graph)
    feat = features(graph, get_target("host"), runtime=runtime)
    assert kernels is not None and len(kernels) == len(feat.nodes) == 4 and min(kernels.values()) > 0
    assert sum(kernels.values()) <= sum(r.us for r in ops.rows) * 1e-6 + 1e-12  # reorders the runtime added: left out
    shares = class_shares(kernels, feat)
    assert set(shares) == {"depthwise_conv", "conv"}
    assert abs(sum(shares.values()) - 1) < 1e-9 and min(shares.values()) > 0.05


def test_bench_ops_on_the_cli_and_a_runtime_without_a_profiler(nets, digits_pt2, tmp_path):
    pytest.importorskip("torch")
    from edgeport.bench.matrix import bench_matrix

    path = nets["mixed-c16-s32-d2"]
    runner = CliRunner()
    args = ["bench", str(path), "--runtime", "onnxruntime", "--threads", "1", "--runs", "20", "--warmup", "2"]
    res = runner.invoke(app, [*args, "--ops", "3", "--json"], env={"EDGEPORT_STORE": str(tmp_path / "s.db")})
    assert res.exit_code == 0, res.output
    row = json.loads(res.output)["data"]["rows"][0]
    kinds = {r["kind"] for r in row["ops"]["rows"]}
    assert {"Conv", "Sigmoid", "Gemm"} <= kinds, kinds
    assert row["ops"]["profiler"] == "ONNX Runtime profiler" and row["latency_ms"]["median"] > 0
    shown = runner.invoke(app, [*args, "--ops", "3"], env={"EDGEPORT_STORE": str(tmp_path / "s.db")})
    assert shown.exit_code == 0 and "where the time goes" in shown.output and "by kernel type" in shown.output
    bad = runner.invoke(app, [*args, "--ops", "-1"], env={"EDGEPORT_STORE": str(tmp_path / "s.db")})
    assert bad.exit_code != 0 and "--ops must be ≥ 0" in bad.output

    eager = bench_matrix(digits_pt2, ["torch"], (1,), ops=True).rows[0]
    assert eager.ops is None and "has no per-operator profiler" in eager.ops_note
    assert "onnxruntime" in eager.ops_note and "openvino" in eager.ops_note  # the fix names those that have one
