"""LiteRT runtime on real models: a ridge-regression digits classifier converted with TFLiteConverter
(fp32 and full-integer int8), and a two-signature model.

Checks numbers against numpy on the digits test split, XNNPACK on/off, threads, int8 I/O
quantised/dequantised with the tensor's own scale/zero-point, dynamic batch, signature selection
and bad input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport.errors import ConfigError, ModelFileError
from edgeport.runtimes.base import open_runtime, run_dataset
from edgeport.runtimes.litert import LiteRTOptions

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def ridge(digits_data) -> tuple[np.ndarray, np.ndarray]:
    train = digits_data.split("train")
    x = train.inputs["x"].reshape(train.count, -1).astype(np.float64)
    y = np.eye(10)[train.labels]
    w = np.linalg.solve(x.T @ x + np.eye(64), x.T @ y).astype(np.float32)
    return w, np.zeros(10, np.float32)


def _tflite(path: Path, w: np.ndarray, b: np.ndarray, calibration: np.ndarray | None = None) -> Path:
    @tf.function(input_signature=[tf.TensorSpec([None, 1, 8, 8], tf.float32, name="x")])
    def serving(x):  # type: ignore[no-untyped-def]
        return {"logits": tf.matmul(tf.reshape(x, [-1, 64]), w) + b}

    module = tf.Module()
    module.serving = serving
    saved = path.with_suffix(".saved_model")
    tf.saved_model.save(module, str(saved), signatures={"serving_default": serving.get_concrete_function()})
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if calibration is not None:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([calibration[i:i + 1]] for i in range(len(calibration)))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory, ridge):
    return load_artifact(_tflite(tmp_path_factory.mktemp("lrt") / "ridge.tflite", *ridge))


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory, ridge, digits_data):
    cal = digits_data.split("calibration").inputs["x"][:128]
    return load_artifact(_tflite(tmp_path_factory.mktemp("lrt8") / "ridge8.tflite", *ridge, calibration=cal))


def test_fp32_matches_numpy_with_and_without_xnnpack(fp32_model, ridge, digits_data):
    w, b = ridge
    test = digits_data.split("test")
    want = test.inputs["x"].reshape(test.count, -1) @ w + b
    results = {}
    for xnnpack in (True, False):
        with open_runtime(fp32_model, "litert", LiteRTOptions(threads=1, xnnpack=xnnpack)) as rt:
            (spec,) = rt.input_specs()
            assert spec.shape == ("batch", 1, 8, 8) and spec.dtype == "float32"
            results[xnnpack] = run_dataset(rt, test)["logits"]
            info = rt.describe()
            assert info["xnnpack"] is xnnpack and info["signature"] == "serving_default"
            assert info["op_resolver"] == ("BUILTIN" if xnnpack else "BUILTIN_WITHOUT_DEFAULT_DELEGATES")
    for got in results.values():
        assert np.abs(got - want).max() <= 1e-4
        assert (got.argmax(1) == want.argmax(1)).all()
    assert (results[True].argmax(1) == test.labels).mean() > 0.85


def test_dynamic_batch_and_threads(fp32_model, digits_data):
    x = digits_data.inputs["x"]
    with open_runtime(fp32_model, "litert", LiteRTOptions(threads=2)) as rt:
        five = rt.run({"x": x[:5]})["logits"]
        one = rt.run({"x": x[:1]})["logits"]
        again = rt.run({"x": x[:5]})["logits"]
    assert five.shape == (5, 10) and one.shape == (1, 10)
    np.testing.assert_allclose(one[0], five[0], atol=1e-5)
    np.testing.assert_array_equal(five, again)
    with pytest.raises(ConfigError, match="threads"), open_runtime(fp32_model, "litert", LiteRTOptions(threads=0)):
        pass


def test_int8_io_quantised_with_the_tensors_scale(int8_model, fp32_model, digits_data):
    test = digits_data.split("test")
    with open_runtime(int8_model, "litert") as rt:
        (inp,), (out,) = rt.input_specs(), rt.output_specs()
        assert inp.dtype == "int8" and out.dtype == "int8"
        assert inp.quant is not None and out.quant is not None and inp.quant.scale[0] > 0
        x = test.inputs["x"][:8]
        raw = rt.run({"x": x}, raw=True)["logits"]
        real = rt.run({"x": x})["logits"]
        assert raw.dtype == np.int8 and real.dtype == np.float32
        np.testing.assert_allclose(real, out.quant.dequantize(raw), rtol=0, atol=1e-6)
        # feeding the already-quantised tensor gives the same result as feeding floats
        again = rt.run({"x": inp.quant.quantize(x, "int8")}, raw=True)["logits"]
        np.testing.assert_array_equal(again, raw)
        got = run_dataset(rt, test)["logits"]
    with open_runtime(fp32_model, "litert") as rt:
        ref = run_dataset(rt, test)["logits"]
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.97
    assert np.abs(got - ref).max() < 0.25 * np.abs(ref).max()


@pytest.fixture(scope="module")
def two_signatures(tmp_path_factory: pytest.TempPathFactory):
    class Two(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="a")])
        def add(self, a):  # type: ignore[no-untyped-def]
            return {"y": a + 1.0}

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="a")])
        def mul(self, a):  # type: ignore[no-untyped-def]
            return {"y": a * 3.0}

    m = Two()
    d = tmp_path_factory.mktemp("sig")
    tf.saved_model.save(m, str(d / "sm"), signatures={"add": m.add.get_concrete_function(),
                                                     "mul": m.mul.get_concrete_function()})
    conv = tf.lite.TFLiteConverter.from_saved_model(str(d / "sm"), signature_keys=["add", "mul"])
    (d / "two.tflite").write_bytes(conv.convert())
    return load_artifact(d / "two.tflite")


def test_signature_selection(two_signatures):
    assert sorted(two_signatures.metadata["signatures"]) == ["add", "mul"]
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    with open_runtime(two_signatures, "litert", LiteRTOptions(signature="mul")) as rt:
        np.testing.assert_allclose(rt.run({"a": x})["y"], x * 3)
        assert rt.describe()["signature"] == "mul"
    with open_runtime(two_signatures, "litert", LiteRTOptions(signature="add")) as rt:
        np.testing.assert_allclose(rt.run({"a": x})["y"], x + 1)
    with pytest.raises(ConfigError, match="add, mul"), \
            open_runtime(two_signatures, "litert", LiteRTOptions(signature="nope")):
        pass


def test_bad_files(tmp_path, fp32_model):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(fp32_model.path.read_bytes()[:200])
    with pytest.raises(ModelFileError):
        with open_runtime(load_artifact(cut), "litert"):
            pass
    text = tmp_path / "x.tflite"
    text.write_text("not a model")
    with pytest.raises(ModelFileError):
        load_artifact(text)
