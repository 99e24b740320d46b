"""TFLite flatbuffer reader: ``Graph`` contents, I/O specs, embedded layouts, op inventory, bad files,
and the profile of MobileNetV2's TFLite export against its ONNX export (within 1% of the MACs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport import Format, load_artifact
from edgeport.errors import ModelFileError
from edgeport.graph.tflite_reader import embed_io_metadata, op_inventory, read_graph, read_io, read_io_metadata

pytest.importorskip("ai_edge_litert")
tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def conv_tflite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A conv + dense model with known weights, written fp32 and full-integer int8 (dynamic batch)."""
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    dense = rng.standard_normal((6 * 6 * 4, 5)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 6, 6, 2], tf.float32, name="img")])
    def serving(img):  # type: ignore[no-untyped-def]
        y = tf.nn.relu(tf.nn.conv2d(img, kernel, 1, "SAME"))
        return {"scores": tf.matmul(tf.reshape(y, [-1, 6 * 6 * 4]), dense)}

    d = tmp_path_factory.mktemp("reader")
    module = tf.Module()
    module.serving = serving
    tf.saved_model.save(module, str(d / "sm"), signatures={"serving_default": serving.get_concrete_function()})
    (d / "conv.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(d / "sm")).convert())
    conv = tf.lite.TFLiteConverter.from_saved_model(str(d / "sm"))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.random((1, 6, 6, 2), dtype=np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    (d / "conv8.tflite").write_bytes(conv.convert())
    return d / "conv.tflite", d / "conv8.tflite"


def test_graph_ops_shapes_params(conv_tflite):
    g = read_graph(conv_tflite[0])
    assert g.format is Format.TFLITE
    assert set(g.op_types()) >= {"CONV_2D", "FULLY_CONNECTED"}
    conv = next(n for n in g.nodes if n.op_type == "CONV_2D")
    assert conv.attrs["padding"] == "SAME" and conv.attrs["stride_w"] == 1
    assert conv.attrs["fused_activation_function"] == "RELU"
    weights = g.tensor(conv.inputs[1])
    assert weights is not None and weights.is_constant and weights.shape == (4, 3, 3, 2)
    assert weights.nbytes == 4 * 3 * 3 * 2 * 4
    # constants: conv kernel, the zero conv bias the converter adds, the dense matrix, a 2-element reshape shape
    assert g.param_count() == 3 * 3 * 2 * 4 + 4 + 144 * 5 + 2
    assert sorted(t.dtype or "" for t in g.constants()) == ["float32", "float32", "float32", "int32"]
    (inp,) = g.inputs
    assert g.tensors[inp].shape == ("batch", 6, 6, 2) and g.tensors[inp].dtype == "float32"
    assert g.metadata["op_inventory"]["flex"] == {} and g.metadata["signatures"] == ["serving_default"]


def test_int8_quant_params_and_io_specs(conv_tflite):
    g = read_graph(conv_tflite[1])
    conv = next(n for n in g.nodes if n.op_type == "CONV_2D")
    w = g.tensor(conv.inputs[1])
    assert w is not None and w.dtype == "int8" and w.quant is not None
    assert len(w.quant.scale) == 4 and w.quant.axis == 0  # per-channel over output channels
    assert w.nbytes == 4 * 3 * 3 * 2
    ins, outs, meta = read_io(conv_tflite[1])
    assert [s.name for s in ins] == ["img"] and [s.name for s in outs] == ["scores"]
    assert ins[0].dtype == "int8" and ins[0].quant is not None and ins[0].quant.axis is None
    assert meta["signature"] == "serving_default" and meta["flex_ops"] == []


def test_embedded_layout_round_trips(tmp_path, conv_tflite):
    path = tmp_path / "m.tflite"
    path.write_bytes(conv_tflite[0].read_bytes())
    embed_io_metadata(path, {"layouts": {"img": "NHWC"}, "layout_map": {"img": ["NCHW", "NHWC"]}})
    assert read_io_metadata(path)["layouts"] == {"img": "NHWC"}
    art = load_artifact(path)
    assert art.inputs[0].layout == "NHWC" and art.metadata["layout_map"] == {"img": ["NCHW", "NHWC"]}
    # the model still loads and computes the same thing
    from edgeport.runtimes.base import open_runtime

    x = np.random.default_rng(1).random((2, 6, 6, 2), dtype=np.float32)
    with open_runtime(art) as a, open_runtime(load_artifact(conv_tflite[0])) as b:
        np.testing.assert_array_equal(a.run({"img": x})["scores"], b.run({"img": x})["scores"])
    assert op_inventory(read_graph(path)).deployable


def test_not_a_tflite_file(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError, match="TFL3"):
        read_graph(bad)
    with pytest.raises(ModelFileError, match="no such file"):
        read_graph(tmp_path / "missing.tflite")


@pytest.mark.slow
def test_mobilenet_v2_tflite_profile_matches_onnx(tmp_path):
    """MobileNetV2's TFLite export (litert-torch) profiles within 1% of its ONNX export (MACs, params)."""
    pytest.importorskip("litert_torch")
    from edgeport.analysis.profile import profile
    from edgeport.convert.torch_to_onnx import TorchToOnnx, TorchToOnnxOptions
    from edgeport.convert.torch_to_tflite import TorchToTflite, TorchToTfliteOptions
    from edgeport.data import zoo

    pt2 = load_artifact(zoo.export_pt2(zoo.mobilenet_v2(), (1, 3, 224, 224), tmp_path / "mnv2.pt2",
                                       dynamic_batch=False))
    onnx = TorchToOnnx().convert(pt2, tmp_path / "mnv2.onnx", TorchToOnnxOptions(dynamic_batch=False))
    tfl = TorchToTflite().convert(pt2, tmp_path / "mnv2.tflite", TorchToTfliteOptions(), None)
    p_onnx, p_tfl = profile(onnx), profile(tfl)
    assert p_onnx.macs == pytest.approx(300.8e6, rel=0.01)
    assert p_tfl.macs == pytest.approx(p_onnx.macs, rel=0.01)
    assert p_tfl.params == pytest.approx(p_onnx.params, rel=0.01)
    assert not p_tfl.unsupported_ops or set(p_tfl.unsupported_ops) <= {"TRANSPOSE", "RESHAPE"}
