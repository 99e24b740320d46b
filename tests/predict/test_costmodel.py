"""The cost model on hand-computed graphs, the fit on synthetic timings, leave-one-out, labels and intervals."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from edgeport.core.target import OP_CLASSES, PredictorPrior, get_target
from edgeport.predict.calibrate import interval_of
from edgeport.predict.calibration import Calibration
from edgeport.predict.costmodel import (CostParams, ModelFeatures, NodeFeatures, features, per_class_seconds,
                                        predict_seconds)
from edgeport.predict.estimate import estimate_features
from edgeport.predict.fit import Sample, choose_prior_weight, fit_params, global_scale, leave_one_out

pytest.importorskip("onnx")
pytest.importorskip("scipy")

PRIOR = PredictorPrior(efficiency={**{k: 0.1 for k in OP_CLASSES}, "matmul": 0.5},
                       op_overhead_us={k: 2.0 for k in OP_CLASSES}, memory_efficiency=0.5, invoke_floor_us=10.0,
                       within_factor=3.0, source="test")


def _target():
    """The host profile with round numbers: 1 GMAC/s fp32, 1 GB/s, no active power."""
    t = get_target("host")
    return dataclasses.replace(t, cpu=dataclasses.replace(t.cpu, peak_macs={"float32": 1e9}),
                               memory=dataclasses.replace(t.memory, bandwidth_gbs=1.0), predictor=PRIOR,
                               power=dataclasses.replace(t.power, active_w=None))


def _gemm_relu(path: Path) -> Path:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    b = numpy_helper.from_array(np.zeros(64, np.float32), "b")
    # relu0 runs on its own (it reads the graph input); relu1 fuses into the Gemm that alone feeds it
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="relu0"),
                               helper.make_node("Gemm", ["r", "w", "b"], ["h"], transB=1, name="gemm"),
                               helper.make_node("Relu", ["h"], ["y"], name="relu1")], "gr",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [w, b])
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def test_cost_model_by_hand(tmp_path: Path):
    from edgeport.graph.load import load_graph

    feat = features(load_graph(_gemm_relu(tmp_path / "gr.onnx")), _target())
    assert [n.op_class for n in feat.nodes] == ["activation", "matmul"]  # relu1 fused: no row
    relu, gemm = feat.nodes
    assert gemm.compute_s == pytest.approx(4096 / 1e9)  # 64x64 MACs at 1 GMAC/s
    assert gemm.memory_s == pytest.approx((256 + 16384 + 256 + 256) / 1e9)  # r, W, b in; h out
    assert relu.compute_s == pytest.approx(64 / 1e9) and relu.memory_s == pytest.approx(512 / 1e9)
    # on a CPU the two add. Gemm: 8.192 µs compute at 50 % + 34.304 µs memory at 50 % + 2 µs; Relu: 0.64 + 1.024 + 2;
    # invoke 10; half a pass (io_copy 0.5) over x and y, 512 bytes at 1 GB/s
    assert feat.io_s == pytest.approx(512 / 1e9)
    expected = 10e-6 + 0.256e-6 + (8.192e-6 + 34.304e-6 + 2e-6) + (0.64e-6 + 1.024e-6 + 2e-6)
    assert predict_seconds(feat, CostParams.from_prior(PRIOR)) == pytest.approx(expected)
    # where memory traffic overlaps compute (an accelerator's DMA) the slower one costs: max(8.192, 34.304) + 2 …
    overlapped = dataclasses.replace(feat, nodes=[dataclasses.replace(n, overlap=True) for n in feat.nodes])
    assert predict_seconds(overlapped, CostParams.from_prior(PRIOR)) == \
        pytest.approx(10e-6 + 0.256e-6 + (34.304e-6 + 2e-6) + (1.024e-6 + 2e-6))
    assert sum(per_class_seconds(feat, CostParams.from_prior(PRIOR)).values()) == \
        pytest.approx(expected - 10.256e-6)
    est = estimate_features(feat, _target())
    assert est.latency_ms == pytest.approx(expected * 1e3)
    assert est.label == "uncalibrated estimate (within ~3×)" and not est.calibrated
    assert est.low_ms == pytest.approx(expected * 1e3 / 3) and est.high_ms == pytest.approx(expected * 3e3)
    assert est.energy_mj is None and est.energy_label.startswith("unavailable: the host profile gives no active power")
    # a partition boundary adds its hand-over; an empty graph still costs the per-invoke floor
    assert predict_seconds(dataclasses.replace(feat, boundary_s=5e-6), CostParams.from_prior(PRIOR)) == \
        pytest.approx(expected + 5e-6)
    empty = estimate_features(ModelFeatures([]), _target())
    assert empty.latency_ms == pytest.approx(0.010) and empty.low_ms == pytest.approx(0.010)



def test_bytes_beyond_the_core_cache_cost_the_far_memory_term(tmp_path: Path):
    from edgeport.graph.load import load_graph

    t = _target()
    small = dataclasses.replace(t, memory=dataclasses.replace(t.memory, cache_bytes=1024))
    feat = features(load_graph(_gemm_relu(tmp_path / "gr.onnx")), small)
    relu, gemm = feat.nodes
    assert relu.far_s == 0  # 512 bytes fit the 1 KB cache
    assert gemm.far_s == pytest.approx((17152 - 1024) / 1e9)
    params = CostParams.from_prior(PRIOR)
    base = predict_seconds(feat, params)
    params.far = 2.0
    assert predict_seconds(feat, params) == pytest.approx(base + 2.0 * gemm.far_s)
    assert CostParams.from_vector(params.vector()).far == 2.0


def test_the_host_cache_is_the_largest_one_core_has_alone(tmp_path: Path):
    from edgeport.core.target import _core_cache_bytes

    def tree(cpu: Path, siblings: str, caches: list[tuple[str, str, str]]) -> Path:
        (cpu / "topology").mkdir(parents=True)
        (cpu / "topology" / "thread_siblings_list").write_text(siblings + "\n")
        for i, (kind, size, shared) in enumerate(caches):
            d = cpu / "cache" / f"index{i}"
            d.mkdir(parents=True)
            for name, value in (("type", kind), ("size", size), ("shared_cpu_list", shared)):
                (d / name).write_text(value + "\n")
        return cpu / "cache"

    vm = tree(tmp_path / "vm", "0", [("Data", "48K", "0"), ("Instruction", "32K", "0"),
                                     ("Unified", "1280K", "0"), ("Unified", "49152K", "0-1")])
    assert _core_cache_bytes(vm) == 1280 * 1024
    # two hardware threads share the core's L2; the L3 spans every core
    smt = tree(tmp_path / "smt", "0,16", [("Data", "32K", "0,16"), ("Unified", "2M", "0,16"), ("Unified", "32M", "0-31")])
    assert _core_cache_bytes(smt) == 2 * 1024 ** 2
    assert _core_cache_bytes(tmp_path / "missing") is None


def _convs(path: Path) -> Path:
    """An RGB stem conv (3→8 channels), a narrow 3×3 conv (8→8), a depthwise conv (8) and a wide 1×1 (8→64)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    ws = [numpy_helper.from_array(np.ones(shape, np.float32), name) for name, shape in
          (("w0", (8, 3, 3, 3)), ("w1", (8, 8, 3, 3)), ("w2", (8, 1, 3, 3)), ("w3", (64, 8, 1, 1)))]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], name="stem", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w1"], ["b"], name="narrow", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["b", "w2"], ["c"], name="dw", pads=[1, 1, 1, 1], group=8),
             helper.make_node("Conv", ["c", "w3"], ["y"], name="wide")]
    graph = helper.make_graph(nodes, "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 8, 8])], ws)
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def test_channel_tiles_charge_narrow_convolutions(tmp_path: Path):
    """x86 (AVX2 or AVX-512): a tile of 32 channels; NEON: 2 registers of 4 lanes. Work lost = tile/min(C, tile) − 1 per side, no input side
    for an RGB stem or a depthwise conv; accelerator paths and wide convs lose nothing."""
    from edgeport.graph.load import load_graph
    from edgeport.predict.costmodel import channel_tile, fp32_lanes, tile_loss

    assert fp32_lanes(("avx", "avx2", "fma", "avx512f")) == 16 and fp32_lanes(("avx2",)) == 8
    assert fp32_lanes(("asimd",)) == 4
    assert channel_tile(("avx2", "fma")) == channel_tile(("avx2", "avx512f")) == 32 and channel_tile(("asimd",)) == 8
    graph = load_graph(_convs(tmp_path / "convs.onnx"))
    loss = {n.name: tile_loss(graph, n, "depthwise_conv" if n.name == "dw" else "conv", 32) for n in graph.nodes}
    assert loss == {"stem": 3.0, "narrow": 6.0, "dw": 3.0, "wide": 3.0}  # wide: 64 out, but only 8 in
    t = _target()
    avx512 = dataclasses.replace(t, cpu=dataclasses.replace(t.cpu, isa=("avx2", "fma", "avx512f")))
    feat = features(graph, avx512)
    assert [n.lost_s / n.compute_s for n in feat.nodes] == pytest.approx([3.0, 6.0, 3.0, 3.0])
    avx2 = dataclasses.replace(t, cpu=dataclasses.replace(t.cpu, isa=("avx2", "fma")))
    assert [n.lost_s for n in features(graph, avx2).nodes] == pytest.approx([n.lost_s for n in feat.nodes])
    # the lost work is charged at the narrow penalty, on top of the efficiency and memory terms
    params = CostParams.from_prior(PRIOR)
    params.narrow = 0.5
    expected = 10e-6 + feat.io_s * 0.5 + sum(n.compute_s * 10 + n.lost_s * 0.5 + n.memory_s * 2 + 2e-6
                                             for n in feat.nodes)
    assert predict_seconds(feat, params) == pytest.approx(expected)
    # NEON's 4 lanes: a tile of 8 channels, which these convolutions fill
    neon = dataclasses.replace(t, cpu=dataclasses.replace(t.cpu, isa=("asimd",)))
    assert all(n.lost_s == 0 for n in features(graph, neon).nodes)


def test_folded_and_fused_nodes_get_no_row(tmp_path: Path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeport.graph.load import load_graph
    from edgeport.predict.costmodel import executed

    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, -1])
    nodes = [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [2.0])),
             helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),  # fused into the conv
             helper.make_node("Mul", ["r", "c"], ["m"], name="mul"),  # runs: its producer is not a conv
             helper.make_node("Reshape", ["m", "s"], ["y"], name="reshape")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512])], [w, shape])
    path = tmp_path / "g.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    g = load_graph(path)
    runs = dict(zip((n.op_type for n in g.nodes), executed(g)))
    assert runs == {"Constant": False, "Conv": True, "Relu": False, "Mul": True, "Reshape": True}
    assert [n.op_class for n in features(g, _target()).nodes] == ["conv", "elementwise", "data_movement"]
    # OpenVINO also runs the pointwise Mul after conv+relu in the conv's kernel; the Reshape stays its own
    fused = dict(zip((n.op_type for n in g.nodes), executed(g, pointwise_chains=True)))
    assert fused == {"Constant": False, "Conv": True, "Relu": False, "Mul": False, "Reshape": True}
    assert [n.op_class for n in features(g, _target(), runtime="openvino").nodes] == ["conv", "data_movement"]
    assert [n.op_class for n in features(g, _target(), runtime="onnxruntime").nodes] == \
        ["conv", "elementwise", "data_movement"]


def test_a_swish_is_one_transcendental_node_and_a_strided_softmax_has_its_own_class(tmp_path: Path):
    """x·sigmoid(x) (in either operand order) runs as one kernel: the Sigmoid gets no row, the Mul is costed as a
    transcendental pass over x with the sigmoid's work; a Sigmoid whose output goes elsewhere too runs alone.
    A softmax over channels of an NCHW map is strided; one over the last axis, or over a 2-D row, is not."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeport.analysis.profile import profile_graph
    from edgeport.graph.load import load_graph
    from edgeport.predict.costmodel import executed
    from edgeport.predict.opclass import op_class

    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Sigmoid", ["h"], ["s"], name="sig"),
             helper.make_node("Mul", ["s", "h"], ["a"], name="swish"),  # sigmoid(h) · h
             helper.make_node("Sigmoid", ["a"], ["s2"], name="gate"),  # its output also leaves the graph
             helper.make_node("Mul", ["a", "s2"], ["b"], name="gated"),
             helper.make_node("Softmax", ["b"], ["p"], axis=1, name="channels"),
             helper.make_node("Softmax", ["p"], ["y"], axis=-1, name="rows")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8]),
                               helper.make_tensor_value_info("s2", TensorProto.FLOAT, [1, 8, 8, 8])], [w])
    path = tmp_path / "g.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    g = load_graph(path)
    assert [n.name for n, r in zip(g.nodes, executed(g)) if not r] == ["sig"]
    assert [op_class(g, n) for n in g.nodes][5:] == ["strided_softmax", "transcendental"]
    feat = features(g, _target())
    assert [n.op_class for n in feat.nodes] == ["conv", "transcendental", "transcendental", "elementwise",
                                                "strided_softmax", "transcendental"]
    flops = {n.name: p.flops for n, p in zip(g.nodes, profile_graph(g).nodes)}
    swish = feat.nodes[1]
    assert swish.compute_s == pytest.approx((flops["sig"] + flops["swish"]) / 1e9)
    assert swish.memory_s == pytest.approx(2 * 512 * 4 / 1e9)  # h read once, a written
    # OpenVINO runs the swish in the conv's kernel (the chain conv → swish reads h alone)
    assert [n.op_class for n in features(g, _target(), runtime="openvino").nodes][:2] == ["conv", "transcendental"]
    assert [n.name for n, r in zip(g.nodes, executed(g, pointwise_chains=True)) if not r] == ["sig", "swish"]
    # before opset 13 a softmax flattens the dims from its axis into one row: not strided
    old = onnx.load(str(path))
    old.opset_import[0].version = 12
    onnx.save_model(old, str(path))
    g12 = load_graph(path)
    assert op_class(g12, g12.nodes[5]) == "transcendental"


def test_energy_is_latency_times_profile_power():
    target = dataclasses.replace(_target(), power=dataclasses.replace(_target().power, active_w=2.0))
    est = estimate_features(ModelFeatures([NodeFeatures("conv", 1e-3, 0.0)]), target)
    assert est.energy_mj == pytest.approx(est.latency_ms * 2.0)
    assert est.energy_high_mj == pytest.approx(est.high_ms * 2.0) and "2 W profile active power" in est.energy_label


def _synthetic(true: CostParams, n: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        nodes = []
        for _ in range(rng.randint(2, 10)):
            k = rng.choice(["conv", "matmul", "elementwise", "depthwise_conv"])
            compute = rng.uniform(1e-7, 2e-5) if k != "elementwise" else rng.uniform(0, 1e-7)
            nodes.append(NodeFeatures(k, compute, rng.uniform(0, 3e-6)))
        feat = ModelFeatures(nodes)
        out.append(Sample(f"m{i}", feat, predict_seconds(feat, true)))
    return out


def _truth() -> CostParams:
    true = CostParams.from_prior(PRIOR)
    true.inv_eff.update(conv=1 / 0.7, matmul=1 / 0.3, depthwise_conv=1 / 0.05)
    true.inv_mem["elementwise"] = 1 / 0.2
    true.invoke_s = 6e-6
    return true


def test_fit_recovers_known_efficiencies():
    samples = _synthetic(_truth(), 24, seed=1)
    fitted = fit_params(samples, CostParams.from_prior(PRIOR))
    for k, eff in (("conv", 0.7), ("matmul", 0.3), ("depthwise_conv", 0.05)):
        assert 1 / fitted.inv_eff[k] == pytest.approx(eff, rel=0.03), k
    assert 1 / fitted.inv_mem["elementwise"] == pytest.approx(0.2, rel=0.1)
    # no pooling measured: the prior stays, rescaled by the set's median measured/prior ratio like every term
    scale = global_scale(samples, CostParams.from_prior(PRIOR))
    assert fitted.inv_eff["pool_reduce"] == pytest.approx(scale / 0.1)
    # one measurement 3x off (a noisy run) barely moves the robust fit
    noisy = [*samples[:-1], dataclasses.replace(samples[-1], measured_s=samples[-1].measured_s * 3)]
    robust = fit_params(noisy, CostParams.from_prior(PRIOR))
    assert 1 / robust.inv_eff["conv"] == pytest.approx(0.7, rel=0.06)


def test_kernel_times_tell_apart_classes_a_latency_cannot():
    """Every model mixes convolutions and depthwise ones in the same proportion: latencies alone fit any split of
    the time between the two; a per-operator profile's kernel times fix it, and a new mix is then predicted.
    Kernels under ``MIN_KERNEL_S`` give no equation (the profiler's own cost is much of their time)."""
    from edgeport.predict.fit import MAX_PROFILED, MIN_KERNEL_S

    true = _truth()

    def model(name: str, scale: float, dw_ratio: float) -> Sample:
        feat = ModelFeatures([NodeFeatures("conv", 4e-3 * scale, 0.0), NodeFeatures("depthwise_conv", 4e-3 * scale
                                                                                   * dw_ratio, 0.0)])
        per = per_class_seconds(feat, true)
        return Sample(name, feat, predict_seconds(feat, true), {0: per["conv"], 1: per["depthwise_conv"]})

    train = [model(f"m{i}", scale, 0.1) for i, scale in enumerate((0.5, 1.0, 2.0, 4.0, 8.0))]
    assert min(min(s.kernels.values()) for s in train) >= MIN_KERNEL_S
    prior = CostParams.from_prior(PRIOR)
    profiled = fit_params(train, prior)
    assert 1 / profiled.inv_eff["conv"] == pytest.approx(0.7, rel=0.05)
    assert 1 / profiled.inv_eff["depthwise_conv"] == pytest.approx(0.05, rel=0.05)
    latency_only = fit_params([dataclasses.replace(s, kernels=None) for s in train], prior)
    new = model("new", 1.0, 2.0)  # mostly depthwise
    assert predict_seconds(new.features, profiled) / new.measured_s == pytest.approx(1.0, abs=0.05)
    assert abs(predict_seconds(new.features, latency_only) / new.measured_s - 1.0) > 0.2
    # the same profile with every kernel too short to trust: no kernel equation, the latency-only fit
    tiny = [dataclasses.replace(s, kernels={k: MIN_KERNEL_S / 2 for k in s.kernels}) for s in train]
    assert fit_params(tiny, prior).vector() == pytest.approx(latency_only.vector())
    # a profile the profiler's own cost swamped (its kernels add up to twice the latency): no kernel equation either
    swamped = [dataclasses.replace(s, kernels={k: 2 * t for k, t in s.kernels.items()}) for s in train]
    assert sum(swamped[0].kernels.values()) > MAX_PROFILED * swamped[0].measured_s
    assert fit_params(swamped, prior).vector() == pytest.approx(latency_only.vector())


def test_leave_one_out_holds_each_model_out():
    samples = _synthetic(_truth(), 16, seed=2)
    errors = leave_one_out(samples, CostParams.from_prior(PRIOR))
    assert len(errors) == 16 and max(abs(e) for e in errors) < 0.03  # consistent timings: every held-out one fits
    # the only model with pooling: held out, nothing in the rest says how fast pooling is
    pool = ModelFeatures([NodeFeatures("pool_reduce", 1e-4, 0.0)])
    true = _truth()
    true.inv_eff["pool_reduce"] = 1 / 0.01
    odd = [*samples, Sample("pool", pool, predict_seconds(pool, true))]
    assert abs(leave_one_out(odd, CostParams.from_prior(PRIOR))[-1]) > 0.5
    assert interval_of([0.01, -0.02, 0.05, -0.3]) == pytest.approx(0.3 * 0.9 + 0.05 * 0.1, rel=0.2)


def _calibration(classes: list[str]) -> Calibration:
    return Calibration("host", "onnxruntime", "fp32", CostParams.from_prior(PRIOR), [f"m{i}" for i in range(12)], [],
                       [0.05] * 12, 0.08, classes)


def test_calibrated_label_interval_and_unseen_classes():
    target = _target()
    feat = ModelFeatures([NodeFeatures("conv", 1e-3, 0.0)])
    est = estimate_features(feat, target, runtimes=("onnxruntime",), calibrations=[_calibration(["conv"])])
    assert est.calibrated and est.label == "calibrated on 12 models (±8 %)"
    assert est.low_ms == pytest.approx(est.latency_ms * 0.92) and est.high_ms == pytest.approx(est.latency_ms * 1.08)
    # another runtime's calibration does not apply
    other = estimate_features(feat, target, runtimes=("openvino",), calibrations=[_calibration(["conv"])])
    assert not other.calibrated
    mixed = ModelFeatures([NodeFeatures("conv", 1e-3, 0.0), NodeFeatures("control_flow", 1e-4, 0.0)])
    wide = estimate_features(mixed, target, runtimes=("onnxruntime",), calibrations=[_calibration(["conv"])])
    assert wide.unseen_classes == ["control_flow"] and "unseen op classes control_flow" in wide.label
    cf = wide.per_class_ms["control_flow"]
    assert wide.high_ms == pytest.approx((wide.latency_ms - cf) * 1.08 + cf * 3)


def test_the_pull_to_the_prior_follows_how_consistent_the_timings_are():
    prior = CostParams.from_prior(PRIOR)
    clean = _synthetic(_truth(), 12, seed=3)
    weak = choose_prior_weight(clean, prior)
    strong = []
    for seed in (4, 5, 6):  # one draw of noise can happen to favour the data: the typical draw must not
        rng = random.Random(seed)
        noisy = [dataclasses.replace(s, measured_s=s.measured_s * rng.choice((0.5, 2.0))) for s in clean]
        strong.append(choose_prior_weight(noisy, prior))
    # consistent timings: the terms follow the data; wild ones: they stay nearer the prior
    assert weak < sorted(strong)[1]
    assert max(abs(e) for e in leave_one_out(clean, prior)) < 0.05


def test_the_int8_prior_keeps_a_share_of_the_mac_classes_efficiency():
    """Against the int8 peak a quantized convolution or matmul reaches less than its float one does of the fp32
    peak: the prior's ``int8_efficiency`` scales those classes' efficiency for int8 models, and only theirs."""
    import tomllib

    from edgeport.core.target import parse_target
    from edgeport.errors import ConfigError

    prior = dataclasses.replace(PRIOR, int8_efficiency=0.25)
    fp32, int8 = CostParams.from_prior(prior), CostParams.from_prior(prior, "int8")
    for k in ("conv", "depthwise_conv", "matmul"):
        assert int8.inv_eff[k] == pytest.approx(4 * fp32.inv_eff[k])
    assert int8.inv_eff["elementwise"] == fp32.inv_eff["elementwise"] and int8.overhead_s == fp32.overhead_s
    assert CostParams.from_prior(prior, "fp16").inv_eff == fp32.inv_eff
    root = Path(__file__).resolve().parents[2] / "src" / "edgeport" / "targets"
    data = tomllib.loads((root / "host.toml").read_text())
    host = parse_target(data, "host.toml").predictor
    assert 0 < host.int8_efficiency < 1 and host.for_path("openvino-cpu").int8_efficiency == 1.0
    data["predictor"]["int8_efficiency"] = 1.5
    with pytest.raises(ConfigError, match="int8_efficiency.*must be a fraction in \\(0, 1\\], got 1.5"):
        parse_target(data, "host.toml")
