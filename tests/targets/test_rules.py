"""Rule tables per execution path on hand-built graphs; partitions; Edge TPU prefix; bad model formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeport.analysis.compat import analyze, partition_groups
from edgeport.analysis.rules import check_node, get_rules
from edgeport.core.formats import Format
from edgeport.errors import UnknownNameError, UnsupportedError
from edgeport.graph.ir import Graph, Node, TensorInfo

ONNX_CHAIN = ["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]
TFLITE_OPS = {"Conv": "CONV_2D", "Relu": "RELU", "MaxPool": "MAX_POOL_2D", "Flatten": "RESHAPE", "Gemm": "FULLY_CONNECTED",
              "CumSum": "CUMSUM", "TopK": "TOPK_V2"}


def chain(ops: list[str], *, dtype: str = "float32", fmt: Format = Format.ONNX, batch: int | str = 1) -> Graph:
    """x -> op0 -> op1 -> ... with static 4-D activations (2-D after Flatten) and constant weights."""
    tensors = {"x": TensorInfo("x", dtype, (batch, 8, 8, 8))}
    nodes = []
    prev = "x"
    flat = False
    for i, op in enumerate(ops):
        out = f"t{i}"
        ins = [prev]
        if op in ("Conv", "Gemm", "CumSum", "TopK"):
            w = f"w{i}"
            shape = (8, 8, 3, 3) if op == "Conv" else ((8, 512) if op == "Gemm" else (1,))
            tensors[w] = TensorInfo(w, "int64" if op in ("CumSum", "TopK") else dtype, shape, True, 64)
            ins.append(w)
        flat = flat or op in ("Flatten", "Gemm")
        tensors[out] = TensorInfo(out, dtype, (batch, 512) if flat else (batch, 8, 8, 8))
        name = TFLITE_OPS[op] if fmt == Format.TFLITE else op
        nodes.append(Node(f"n{i}", name, ins, [out]))
        prev = out
    return Graph("hand", fmt, nodes, tensors, ["x"], [prev])


# path -> (a supported dtype, an unsupported dtype or None, rejects dynamic shapes?)
PATHS = {
    "tflite-gpu": ("float32", "int64", True), "nnapi": ("float32", "float64", True),
    "coreml-nn": ("float32", "int8", True), "coreml-mlprogram": ("float32", "int8", False),
    "coreml-ane": ("float16", "int64", True), "qnn-htp": ("int8", "float32", True),
    "edgetpu": ("int8", "float32", True), "xnnpack": ("float32", "int64", False),
    "ethos-u": ("int8", "float32", True), "tflm": ("int8", "float64", True),
    "openvino-cpu": ("float32", "float64", False),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("fmt", [Format.ONNX, Format.TFLITE])
def test_rule_table(path: str, fmt: Format):
    rules = get_rules(path)
    ok_dtype, bad_dtype, rejects_dynamic = PATHS[path]
    g = chain(ONNX_CHAIN, dtype=ok_dtype, fmt=fmt)
    assert all(check_node(g, n, rules).supported for n in g.nodes), [check_node(g, n, rules) for n in g.nodes]
    # unsupported by op type (CUMSUM: on the op list of TFLite Micro and the all-ops CPU paths only)
    cum = chain(["Conv", "CumSum"], dtype=ok_dtype, fmt=fmt)
    res = check_node(cum, cum.nodes[1], rules)
    assert res.supported == (path in ("tflm", "openvino-cpu"))
    if not res.supported:
        assert res.reason == "op"
    # unsupported by dtype
    bad = chain(["Conv"], dtype=bad_dtype, fmt=fmt)
    res = check_node(bad, bad.nodes[0], rules)
    assert not res.supported and res.reason == "dtype", res
    # dynamic batch: rejected or de-accelerated
    dyn = chain(["Conv"], dtype=ok_dtype, fmt=fmt, batch="N")
    res = check_node(dyn, dyn.nodes[0], rules)
    if rejects_dynamic:
        assert not res.supported and res.reason == "dynamic-shape"
    else:
        assert res.supported and (res.slow or rules.dynamic_shapes == "ok")


def test_attribute_and_constant_input_constraints():
    g = chain(["Conv"])
    g.nodes[0].op_type = "Resize"
    g.nodes[0].attrs["mode"] = "cubic"
    res = check_node(g, g.nodes[0], get_rules("nnapi"))
    assert not res.supported and res.reason == "attribute"
    g.nodes[0].attrs["mode"] = "linear"
    assert check_node(g, g.nodes[0], get_rules("nnapi")).supported
    gather = chain(["Conv"])
    gather.nodes[0].op_type = "Gather"
    gather.tensors["w0"] = TensorInfo("w0", "int64", (4,))  # indices computed at run time
    res = check_node(gather, gather.nodes[0], get_rules("coreml-ane"))
    assert not res.supported and res.reason == "constant-input"


def test_qnn_needs_a_fully_quantised_graph():
    g = chain(ONNX_CHAIN, dtype="float32")
    rep = analyze(g, "galaxy-s24", paths=["qnn-htp"])
    assert rep.delegated_nodes == 0 and {f.reason for f in rep.fallbacks} == {"dtype"}
    assert analyze(chain(ONNX_CHAIN, dtype="int8"), "galaxy-s24", paths=["qnn-htp"]).delegated_nodes == 5


def test_alternating_supported_and_unsupported_ops_partitions():
    ops = ["Conv", "CumSum", "Relu", "CumSum", "Conv", "CumSum", "Relu"]
    g = chain(ops)
    rep = analyze(g, "pixel-8", paths=["nnapi"])
    assert rep.delegated_nodes == 4 and rep.partitions == 4
    assert len(rep.fallbacks) == 3 and all(f.reason == "op" and f.op_type == "CumSum" for f in rep.fallbacks)
    # every partition takes one 8x8x8 float tensor (2048 B) in and hands one out
    assert [p.boundary_bytes for p in rep.partition_list] == [4096, 4096, 4096, 4096]
    assert rep.transfer_ms > 0 and "4 of 7 nodes delegated" in rep.verdict
    member = [op != "CumSum" for op in ops]
    assert [len(x) for x in partition_groups(g, member)] == [1, 1, 1, 1]


def test_edgetpu_stops_at_first_unsupported_op():
    g = chain(["Conv", "CumSum", "Relu", "Conv"], dtype="int8", fmt=Format.TFLITE)
    rep = analyze(g, "coral-edgetpu")
    # the later Conv and Relu are Edge TPU ops, but the compiler stops at CUMSUM
    assert [p.path for p in rep.placements] == ["edgetpu", "cpu", "xnnpack", "xnnpack"]
    assert rep.fallbacks[0].reason == "op"
    assert rep.partitions == 2


def test_mcu_without_kernel_cannot_run():
    g = chain(["Conv", "TopK"], dtype="int8", fmt=Format.TFLITE)
    rep = analyze(g, "cortex-m7")
    assert not rep.runs and "cannot run" in rep.verdict and rep.fallbacks[0].op_type == "TOPK_V2"


def test_unknown_path_and_unsupported_format(tmp_path: Path, digits_pt2):
    with pytest.raises(UnknownNameError, match="nnapi"):
        get_rules("warp-drive")
    with pytest.raises(UnsupportedError, match="onnx, tflite"):
        analyze(digits_pt2, "pixel-8")
