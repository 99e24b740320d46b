"""A ``.tflite`` file as the source: → ONNX (tf2onnx's TFLite frontend), → OpenVINO through the planner,
and quantised in place with ai-edge-quantizer (static int8 calibrated on the train split, judged on the
held-out test split; dynamic int8 and fp16 weights without data).

The source is a tiny Keras CNN trained in-test on the digits train split (NHWC, seeded), converted to
float ``.tflite`` once per module; a second copy stores its weights in fp16 (``DEQUANTIZE`` ops),
the form many shipped models use, which the quantizer cannot read as it is.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.convert.api import convert
from edgeport.data.datasets import Dataset
from edgeport.passes import PASSES

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")


@pytest.fixture(scope="module")
def float_tflite(tmp_path_factory: pytest.TempPathFactory, keras_model, digits_nhwc):
    return convert(keras_model, "tflite", out=tmp_path_factory.mktemp("tfl") / "tiny.tflite",
                   data=digits_nhwc).artifact


@pytest.fixture(scope="module")
def fp16_weights_tflite(tmp_path_factory: pytest.TempPathFactory, keras_model, digits_nhwc):
    from edgeport.graph.tflite_reader import read_graph

    art = convert(keras_model, "tflite", out=tmp_path_factory.mktemp("tfl16") / "tiny16.tflite", data=digits_nhwc,
                  options={"precision": "fp16"}).artifact
    assert any(n.op_type == "DEQUANTIZE" for n in read_graph(art.path).nodes)  # weights stored as fp16
    return art


def _accuracy(art, data: Dataset) -> float:
    from edgeport.compress.measure import accuracy_on

    return accuracy_on(art, data)


def test_tflite_to_onnx_keeps_nhwc_and_names_and_verifies(tmp_path, float_tflite, digits_nhwc):
    import onnx
    import onnxruntime as ort

    r = convert(float_tflite, "onnx", out=tmp_path / "t.onnx", data=digits_nhwc)
    assert r.converters == ["tflite-to-onnx"] and r.path_taken == ["tflite", "onnx"]
    assert r.verification is not None and r.verification.passed, r.verification.failures()
    assert r.verified_on == "dataset:digits-nhwc" and r.verification.samples == digits_nhwc.split("test").count
    (out,) = r.verification.outputs
    assert out.max_abs < 1e-4 and out.top1_agreement == 1.0
    model = onnx.load(str(r.artifact.path))
    # the TFLite signature's names (not the tensor names "serving_default_image:0"), layout NHWC
    assert [i.name for i in model.graph.input] == [s.name for s in float_tflite.inputs] == ["image"]
    assert [o.name for o in model.graph.output] == [s.name for s in float_tflite.outputs]
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:] == [8, 8, 1]
    # run it ourselves on the real test split: same predictions as the TFLite file
    x = digits_nhwc.split("test").inputs["image"].astype(np.float32)
    sess = ort.InferenceSession(str(r.artifact.path), providers=["CPUExecutionProvider"])
    batch = sess.get_inputs()[0].shape[0]
    logits = np.concatenate([sess.run(None, {"image": x[i:i + 1]})[0] for i in range(len(x))]) \
        if batch == 1 else sess.run(None, {"image": x})[0]
    acc = float((logits.argmax(1) == digits_nhwc.split("test").labels).mean())
    assert acc == pytest.approx(_accuracy(float_tflite, digits_nhwc), abs=1e-9) and acc > 0.85


@pytest.mark.slow
def test_tflite_to_openvino_through_the_planner(tmp_path, float_tflite, digits_nhwc):
    pytest.importorskip("openvino")
    r = convert(float_tflite, "openvino", out=tmp_path / "t.xml", data=digits_nhwc)
    assert r.path_taken == ["tflite", "onnx", "openvino"] and r.converters[0] == "tflite-to-onnx"
    assert r.verification is not None and r.verification.passed, r.verification.failures()
    assert r.verification.outputs[0].top1_agreement == 1.0


def test_static_int8_calibrated_agrees_on_held_out_data(tmp_path, float_tflite, digits_nhwc):
    from edgeport.graph.tflite_reader import read_graph

    q = PASSES.get("tflite-quantize")().apply(float_tflite, tmp_path / "q.tflite", None, digits_nhwc)
    m = q.step.metrics
    assert m["split"] == "test" and m["samples"] == digits_nhwc.split("test").count  # held out from calibration
    assert m["verified"], m["failures"]
    assert m["top1_agreement"] >= 0.97 and abs(m["accuracy_drop"]) <= 0.02
    assert q.metadata["calibration_samples"] == 128 and q.metadata["precision"] == "int8"
    assert m["size_bytes"] < m["parent_size_bytes"]  # a tiny model: flatbuffer overhead dominates
    g = read_graph(q.path)
    convs = [n for n in g.nodes if n.op_type == "CONV_2D"]
    assert convs and all(g.tensors[n.inputs[1]].dtype == "int8" for n in convs)  # int8 weights
    assert [s.dtype for s in q.inputs] == ["float32"] and [s.name for s in q.inputs] == ["image"]  # float I/O


@pytest.mark.parametrize("weights,precision", [("int8-dynamic", "int8-dynamic"), ("fp16", "fp16")])
def test_weights_only_needs_no_data(tmp_path, float_tflite, digits_nhwc, weights, precision):
    q = PASSES.get("tflite-weights")().apply(float_tflite, tmp_path / f"{weights}.tflite", {"weights": weights})
    assert q.metadata["precision"] == precision
    assert q.size_bytes() < float_tflite.size_bytes()
    from edgeport.verify.compare import verify

    v = verify(float_tflite, q, digits_nhwc, split="test")
    assert v.passed, v.failures()
    assert v.outputs[0].top1_agreement >= (0.99 if precision == "fp16" else 0.97)


def test_fp16_weight_model_is_expanded_before_int8(tmp_path, fp16_weights_tflite, digits_nhwc):
    """Without expanding the fp16 constants the quantizer makes per-tensor asymmetric conv weights, which
    LiteRT's int8 conv kernel refuses; expanded, the convs get symmetric per-channel int8 weights."""
    from edgeport.graph.tflite_reader import read_graph

    q = PASSES.get("tflite-quantize")().apply(fp16_weights_tflite, tmp_path / "q16.tflite", None, digits_nhwc)
    assert q.metadata["prepared"]["fp16_weights_expanded"] >= 2
    assert q.step.metrics["verified"] and q.step.metrics["top1_agreement"] >= 0.97
    g = read_graph(q.path)
    assert not any(n.op_type == "DEQUANTIZE" and g.tensors[n.inputs[0]].dtype == "float16" for n in g.nodes)
    conv = next(n for n in g.nodes if n.op_type == "CONV_2D")
    assert g.tensors[conv.inputs[1]].dtype == "int8"


def test_quantize_api_on_a_tflite_source_uses_its_own_stack(tmp_path, float_tflite, digits_nhwc):
    from edgeport.compress.quantize import quantize

    r = quantize(float_tflite, "int8", digits_nhwc, out=tmp_path / "api.tflite", measure_speed=False)
    assert r.stack == "tflite" and r.method == "tflite-quantize" and r.float_model == str(float_tflite.path)
    assert r.accuracy is not None and r.accuracy_drop <= 0.02 and r.size_bytes < r.float_size_bytes


def test_bad_option_value_is_refused_before_work(tmp_path, float_tflite):
    from edgeport.errors import ConfigError

    with pytest.raises(ConfigError, match="weights 'int3'"):
        PASSES.get("tflite-weights")().apply(float_tflite, tmp_path / "x.tflite", {"weights": "int3"})
    assert not (tmp_path / "x.tflite").exists()


@pytest.mark.slow
def test_study_of_a_float_tflite_builds_more_than_the_file(tmp_path, float_tflite, digits_nhwc):
    """The study of a .tflite source builds its ai-edge-quantizer int8 variant and the ONNX conversion
    (and ORT's int8 of it), not just the input file at each thread count."""
    from edgeport.store import Store
    from edgeport.study import StudyOptions, run_study
    from edgeport.study.options import QUICK_BENCH

    data = tmp_path / "digits_nhwc.npz"
    np.savez(data, image=digits_nhwc.inputs["image"], y=digits_nhwc.labels)
    result = run_study(StudyOptions(model=str(float_tflite.path), data=str(data), targets=("host",), threads=(1,),
                                    formats=("tflite", "onnx"), precisions=("fp32", "int8"), bench=QUICK_BENCH,
                                    out_dir=str(tmp_path / "out")),
                       store=Store(tmp_path / "s.db"))
    builds = {(c.format, c.precision) for c in result.candidates}
    assert {("tflite", "fp32"), ("tflite", "int8"), ("onnx", "fp32"), ("onnx", "int8")} <= builds
    ok = [c for c in result.candidates if c.status == "ok"]
    assert len(ok) > 2, [(c.key, c.status, c.error) for c in result.candidates]
