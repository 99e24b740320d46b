"""One test per MAC/FLOP rule, on hand-built ONNX graphs (``onnx.helper``) and hand-built TFLite graphs.

Every ONNX model is also run through ONNX Runtime once, so the shapes the counts rest on are
the shapes a real runtime produces.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgeport.analysis.profile import profile  # noqa: E402
from edgeport.core.formats import Format  # noqa: E402
from edgeport.graph.ir import Graph, Node, TensorInfo  # noqa: E402
from edgeport.graph.onnx_reader import read_graph  # noqa: E402

F = TensorProto.FLOAT


def _w(name: str, *shape: int, dtype: type = np.float32) -> TensorProto:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def _model(nodes: list, inputs: list[tuple[str, list]], inits: list, *, opset: int = 18,
           feeds: dict[str, tuple[int, ...]] | None = None) -> onnx.ModelProto:
    """Build, check, and run once through ONNX Runtime (asserting inferred output shapes match)."""
    produced = {o for n in nodes for o in n.output}
    consumed = {i for n in nodes for i in n.input}
    outs = [o for n in nodes for o in n.output if o not in consumed] or [nodes[-1].output[0]]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
                              [helper.make_tensor_value_info(o, F, None) for o in outs if o in produced], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.checker.check_model(helper.make_model(helper.make_graph(nodes, "g", graph.input, [], inits),
                                               opset_imports=model.opset_import, ir_version=10))
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    shapes = feeds or {n: tuple(d if isinstance(d, int) else 2 for d in s) for n, s in inputs}
    results = sess.run(None, {n: np.random.default_rng(0).standard_normal(s).astype(np.float32)
                              for n, s in shapes.items()})
    g = read_graph(model)
    for name, value in zip(outs, results):
        inferred = g.tensors[name].shape
        assert inferred is not None and len(inferred) == value.ndim
        for want, got in zip(inferred, value.shape):
            assert not isinstance(want, int) or want == got, (name, inferred, value.shape)
    return model


def _row(result, op_type: str):
    rows = [r for r in result.nodes if r.op_type == op_type]
    assert rows, f"no {op_type} row"
    return rows[0]


def test_conv_with_bias_counts_output_times_kernel_volume() -> None:
    m = _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
               [("x", [1, 3, 32, 32])], [_w("w", 16, 3, 3, 3), _w("b", 16)])
    r = profile(m)
    macs = 16 * 32 * 32 * (3 * 3 * 3)
    assert r.macs == macs
    assert r.flops == 2 * macs + 16 * 32 * 32  # bias: one add per output element
    assert r.params == 16 * 27 + 16
    assert r.weight_bytes == (16 * 27 + 16) * 4
    assert _row(r, "Conv").output_shape == [1, 16, 32, 32]
    assert _row(r, "Conv").activation_bytes == 16 * 32 * 32 * 4


def test_grouped_and_depthwise_conv_divide_input_channels_by_groups() -> None:
    m = _model([helper.make_node("Conv", ["x", "wg"], ["g"], group=4, pads=[1, 1, 1, 1]),
                helper.make_node("Conv", ["g", "wd"], ["d"], group=8, strides=[2, 2], pads=[1, 1, 1, 1])],
               [("x", [1, 8, 16, 16])], [_w("wg", 8, 2, 3, 3), _w("wd", 8, 1, 3, 3)])
    r = profile(m)
    grouped = 8 * 16 * 16 * (2 * 9)
    depthwise = 8 * 8 * 8 * 9
    assert [n.macs for n in r.nodes] == [grouped, depthwise]
    assert r.macs == grouped + depthwise
    assert r.params == 8 * 2 * 9 + 8 * 9


@pytest.mark.parametrize(("x", "w", "out_numel"), [
    ([1, 4, 20], [6, 4, 5], 6 * 16),  # Conv1d
    ([1, 2, 6, 6, 6], [3, 2, 3, 3, 3], 3 * 4 * 4 * 4),  # Conv3d
])
def test_conv_any_spatial_rank(x: list[int], w: list[int], out_numel: int) -> None:
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [("x", x)], [_w("w", *w)])
    assert profile(m).macs == out_numel * int(np.prod(w[1:]))


@pytest.mark.parametrize("group", [1, 2])
def test_conv_transpose_counts_input_times_kernel_volume(group: int) -> None:
    per_group = 4 // group  # W is [C_in, C_out/groups, k, k]; C_out = 4
    m = _model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], group=group)],
               [("x", [1, 8, 8, 8])], [_w("w", 8, per_group, 3, 3), _w("b", 4)])
    r = profile(m)
    assert _row(r, "ConvTranspose").output_shape == [1, 4, 17, 17]
    macs = (8 * 8 * 8) * per_group * 9  # every input element meets C_out/groups × k×k weights
    assert r.macs == macs
    assert r.flops == 2 * macs + 4 * 17 * 17
    assert r.params == 8 * per_group * 9 + 4


def test_gemm_with_transposed_b_and_bias() -> None:
    m = _model([helper.make_node("Gemm", ["a", "w", "c"], ["y"], transB=1)], [("a", [4, 64])],
               [_w("w", 32, 64), _w("c", 32)])
    r = profile(m)
    assert r.macs == 4 * 32 * 64
    assert r.flops == 2 * 4 * 32 * 64 + 4 * 32
    assert r.params == 32 * 64 + 32


def test_gemm_with_transposed_a() -> None:
    m = _model([helper.make_node("Gemm", ["a", "w"], ["y"], transA=1)], [("a", [64, 4])], [_w("w", 64, 32)])
    assert profile(m).macs == 4 * 32 * 64


def test_matmul_batched_and_broadcast() -> None:
    m = _model([helper.make_node("MatMul", ["a", "w"], ["y"]), helper.make_node("MatMul", ["p", "q"], ["z"])],
               [("a", [2, 3, 5, 7]), ("p", [2, 1, 5, 7]), ("q", [3, 7, 4])], [_w("w", 7, 4)])
    r = profile(m)
    assert [n.macs for n in r.nodes] == [2 * 3 * 5 * 4 * 7, 2 * 3 * 5 * 4 * 7]
    assert r.params == 7 * 4  # the activation × activation MatMul has no parameters


def test_attention_shaped_matmuls_keep_symbolic_dims() -> None:
    heads, dim = 4, 16
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["scores"]),
             helper.make_node("Softmax", ["scores"], ["attn"], axis=-1),
             helper.make_node("MatMul", ["attn", "v"], ["out"])]
    shape = ["batch", heads, "seq", dim]
    m = _model(nodes, [("q", shape), ("k", shape), ("v", shape)], [])
    g = read_graph(m)
    assert g.tensors["scores"].shape == ("batch", heads, "seq", "seq")
    r = profile(g, dims={"batch": 2, "seq": 10})
    assert r.symbolic_dims == ["batch", "seq"]
    assert r.assumed_dims == {"batch": 2, "seq": 10}
    qk = 2 * heads * 10 * 10 * dim  # Q·Kᵀ: [b,h,s,d]·[b,h,d,s]
    av = 2 * heads * 10 * dim * 10  # attn·V: [b,h,s,s]·[b,h,s,d]
    assert [n.macs for n in r.nodes if n.op_type == "MatMul"] == [qk, av]
    assert _row(r, "Softmax").flops == 5 * 2 * heads * 10 * 10
    assert _row(r, "MatMul").output_shape == ["batch", heads, "seq", "seq"]
    assert profile(g).macs == qk // 2 // 10 // 10 + av // 2 // 10 // 10  # default binding: every dim 1


def test_pooling_counts_flops_not_macs() -> None:
    m = _model([helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
                helper.make_node("GlobalAveragePool", ["a"], ["g"])], [("x", [1, 4, 16, 16])], [])
    r = profile(m)
    assert r.macs == 0
    assert _row(r, "MaxPool").flops == 4 * 8 * 8 * 9
    assert _row(r, "AveragePool").flops == 4 * 4 * 4 * 4
    assert _row(r, "GlobalAveragePool").flops == 4 * 4 * 4
    assert r.other_flops == r.flops


def test_normalisation_flops_and_batchnorm_buffers() -> None:
    c = 6
    m = _model([helper.make_node("BatchNormalization", ["x", "s", "b", "mean", "var"], ["bn"]),
                helper.make_node("InstanceNormalization", ["bn", "s", "b"], ["in"]),
                helper.make_node("LayerNormalization", ["in", "ls", "lb"], ["ln"], axis=-1)],
               [("x", [2, c, 5, 5])],
               [_w("s", c), _w("b", c), _w("mean", c), numpy_helper.from_array(np.ones(c, np.float32), "var"),
                _w("ls", 5), _w("lb", 5)])
    r = profile(m)
    n = 2 * c * 5 * 5
    assert r.macs == 0
    assert [row.flops for row in r.nodes] == [2 * n, 7 * n, 7 * n]
    assert r.params == 2 * c + 2 * 5  # γ, β (shared by BN and InstanceNorm) and the LayerNorm affine
    assert r.buffers == 2 * c  # running mean/variance are buffers, as in PyTorch


def test_elementwise_one_flop_per_output_element_with_broadcast() -> None:
    m = _model([helper.make_node("Add", ["x", "bias"], ["a"]), helper.make_node("Mul", ["a", "x"], ["m"]),
                helper.make_node("Relu", ["m"], ["r"]), helper.make_node("Sigmoid", ["r"], ["s"])],
               [("x", [2, 3, 4])], [_w("bias", 4)])
    r = profile(m)
    assert [row.flops for row in r.nodes] == [24, 24, 24, 24]
    assert r.macs == 0
    assert r.params == 4


@pytest.mark.parametrize(("mode", "per_output"), [("nearest", 0), ("linear", 2 * 4 - 1), ("cubic", 2 * 16 - 1)])
def test_resize_flops_by_mode(mode: str, per_output: int) -> None:
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    m = _model([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode)], [("x", [1, 3, 8, 8])],
               [scales])
    r = profile(m)
    assert _row(r, "Resize").output_shape == [1, 3, 16, 16]
    assert r.flops == 3 * 16 * 16 * per_output
    assert r.params == 0  # the scales input is not a parameter


def test_shape_constants_and_scalars_are_not_parameters() -> None:
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    nodes = [helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(0, np.float32))),
             helper.make_node("Constant", [], ["hi"], value_float=6.0),
             helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
             helper.make_node("Reshape", ["c", "shape"], ["r"]),
             helper.make_node("MatMul", ["r", "w"], ["y"])]
    m = _model(nodes, [("x", [1, 2, 4, 4])], [shape, _w("w", 32, 10)])
    g = read_graph(m)
    assert g.tensors["hi"].is_constant and g.tensors["hi"].nbytes == 4 and float(g.tensors["hi"].value) == 6.0
    assert g.tensors["shape"].value.tolist() == [1, -1]
    assert g.tensors["r"].shape == (1, 32)  # data propagation through the constant shape
    r = profile(g)
    assert r.params == 320
    assert r.weight_bytes == 320 * 4 + 16 + 4 + 4  # all stored constants
    assert r.macs == 320


def test_identity_of_a_constant_is_a_parameter_alias_without_bytes() -> None:
    ones = numpy_helper.from_array(np.ones(4, np.float32), "ones")
    nodes = [helper.make_node("Identity", ["ones"], ["ones_copy"]),
             helper.make_node("Mul", ["x", "ones"], ["a"]), helper.make_node("Add", ["a", "ones_copy"], ["y"])]
    m = _model(nodes, [("x", [2, 4])], [ones])
    g = read_graph(m)
    alias = g.tensors["ones_copy"]
    assert alias.is_constant and alias.nbytes == 0 and alias.shape == (4,)
    r = profile(g)
    assert r.params == 8  # two uses of equal values, as two parameters of a PyTorch module would be
    assert r.weight_bytes == 16  # stored once


def test_read_graph_decodes_attributes_and_opset() -> None:
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                 auto_pad="NOTSET"),
                helper.make_node("LeakyRelu", ["y"], ["z"], alpha=0.25)], [("x", ["n", 2, 5, 5])],
               [_w("w", 4, 2, 3, 3)], opset=17)
    g = read_graph(m)
    assert g.opset == 17 and g.format is Format.ONNX
    assert g.inputs == ["x"] and g.outputs == ["z"]
    conv = g.nodes[0]
    assert conv.name == "c1"
    assert conv.attrs == {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "auto_pad": "NOTSET"}
    assert g.nodes[1].attrs["alpha"] == pytest.approx(0.25)
    w = g.tensors["w"]
    assert (w.is_constant, w.shape, w.dtype, w.nbytes, w.numel) == (True, (4, 2, 3, 3), "float32", 288, 72)
    assert g.tensors["z"].shape == ("n", 4, 5, 5)
    assert g.metadata["shape_inference"] == "ok"


def test_read_graph_external_data_uses_dims_not_bytes(tmp_path) -> None:
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [3, 256])], [_w("w", 256, 128)])
    path = tmp_path / "ext.onnx"
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="ext.data",
                    size_threshold=0)
    assert path.stat().st_size < 1000
    g = read_graph(path)
    assert g.tensors["w"].nbytes == 256 * 128 * 4
    assert g.tensors["y"].shape == (3, 128)
    assert g.metadata["external_data"] == ["ext.data"]
    r = profile(path)
    assert r.macs == 3 * 128 * 256 and r.params == 256 * 128
    assert r.file_bytes == path.stat().st_size + (tmp_path / "ext.data").stat().st_size


def test_unknown_ops_are_reported_and_unknown_dims_marked_inexact() -> None:
    node = helper.make_node("Mystery", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node, helper.make_node("Relu", ["y"], ["z"])], "g",
                              [helper.make_tensor_value_info("x", F, [1, 4])],
                              [helper.make_tensor_value_info("z", F, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.example", 1)],
                              ir_version=10)
    r = profile(model)
    assert r.unsupported_ops == ["Mystery"]
    assert r.inexact_nodes == 2  # Mystery has no rule; Relu's output shape is unknown
    assert any("Mystery" in note for note in r.notes)


# ------------------------------------------------------------------ TFLite rules (hand-built Graph)

def _t(name: str, shape: tuple, constant: bool = False, dtype: str = "float32") -> TensorInfo:
    return TensorInfo(name, dtype, shape, constant, int(np.prod(shape)) * 4 if constant else 0)


def test_tflite_rules_use_tflite_weight_layouts() -> None:
    tensors = [
        _t("x", ("batch", 16, 16, 3)),
        _t("conv_w", (8, 3, 3, 3), True), _t("conv_b", (8,), True), _t("c", ("batch", 8, 8, 8)),  # OHWI
        _t("dw_w", (1, 3, 3, 16), True), _t("dw_b", (16,), True), _t("d", ("batch", 8, 8, 16)),  # 1HW(C·M), M=2
        _t("tc_shape", (4,), True, "int32"), _t("tc_w", (4, 2, 2, 16), True), _t("t", ("batch", 16, 16, 4)),
        _t("pool", ("batch", 1, 1, 4)), _t("flat", ("batch", 4)),
        _t("fc_w", (10, 4), True), _t("fc_b", (10,), True), _t("logits", ("batch", 10)),
        _t("q", ("batch", 2, 5, 8)), _t("k", ("batch", 2, 5, 8)), _t("s", ("batch", 2, 5, 5)),
        _t("p", ("batch", 2, 5, 5)),
    ]
    nodes = [
        Node("conv", "CONV_2D", ["x", "conv_w", "conv_b"], ["c"], {"fused_activation_function": "RELU"}),
        Node("dw", "DEPTHWISE_CONV_2D", ["c", "dw_w", "dw_b"], ["d"], {"depth_multiplier": 2}),
        Node("tconv", "TRANSPOSE_CONV", ["tc_shape", "tc_w", "d"], ["t"], {"stride_h": 2, "stride_w": 2}),
        Node("avg", "AVERAGE_POOL_2D", ["t"], ["pool"], {"filter_height": 16, "filter_width": 16}),
        Node("reshape", "RESHAPE", ["pool"], ["flat"]),
        Node("fc", "FULLY_CONNECTED", ["flat", "fc_w", "fc_b"], ["logits"]),
        Node("qk", "BATCH_MATMUL", ["q", "k"], ["s"], {"adj_x": False, "adj_y": True}),
        Node("softmax", "SOFTMAX", ["s"], ["p"]),
    ]
    g = Graph("hand", Format.TFLITE, nodes, {t.name: t for t in tensors}, ["x", "q", "k"], ["logits", "p"])
    r = profile(g, dims={"batch": 3})
    macs = {row.name: row.macs for row in r.nodes}
    assert macs["conv"] == 3 * 8 * 8 * 8 * (3 * 3 * 3)
    assert macs["dw"] == 3 * 8 * 8 * 16 * 9
    assert macs["tconv"] == (3 * 8 * 8 * 16) * 4 * 2 * 2
    assert macs["fc"] == 3 * 10 * 4
    assert macs["qk"] == 3 * 2 * 5 * 5 * 8
    assert macs["avg"] == 0 and macs["softmax"] == 0
    conv = next(row for row in r.nodes if row.name == "conv")
    assert conv.flops == 2 * conv.macs + 2 * 3 * 8 * 8 * 8  # bias + fused ReLU
    assert next(row for row in r.nodes if row.name == "avg").flops == 3 * 4 * 256
    assert r.params == 8 * 27 + 8 + 9 * 16 + 16 + 4 * 4 * 16 + 40 + 10  # tc_shape (int32) is not a parameter
    assert r.unsupported_ops == []


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_quantized_models_count_like_their_float_model(tmp_path, quant_format: str) -> None:
    """ORT static INT8 (QDQ and QOperator, whose contrib ops need ONNX Runtime's shape inference)."""
    pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "r1"], ["s"]),
             helper.make_node("GlobalAveragePool", ["s"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], transB=1)]
    m = _model(nodes, [("x", [1, 3, 16, 16])],
               [_w("w1", 8, 3, 3, 3), _w("b1", 8), _w("w2", 8, 8, 3, 3), _w("b2", 8), _w("fc", 10, 8), _w("fb", 10)])
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(m, str(fp32))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = [{"x": np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(np.float32)}
                         for i in range(4)]

        def get_next(self):
            return self.left.pop() if self.left else None

    quantize_static(str(fp32), str(int8), Reader(), quant_format=getattr(QuantFormat, quant_format))
    ref, q = profile(fp32), profile(int8)
    assert ref.macs == 16 * 16 * 8 * 27 + 16 * 16 * 8 * 72 + 10 * 8
    assert q.macs == ref.macs
    assert q.inexact_nodes == 0 and q.unsupported_ops == []
    assert q.params == ref.params  # int8 weights and int32 biases are parameters; scales/zero points are not
    assert q.weight_bytes < ref.weight_bytes
