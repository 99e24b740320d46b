"""Keras / SavedModel → TFLite (TFLiteConverter), Keras → ONNX (tf2onnx) and JAX → TFLite (jax2tf).

A tiny Keras CNN is trained in-test on the digits train split (NHWC, seeded, ~2 s); the JAX
model is a fixed random conv feature map with a ridge-regression linear read-out fitted on the train
split (deterministic). Everything is verified on the 360-sample test split. Measured here: fp32
max |Δ| ≈ 6e-6 with 100% top-1 agreement (TFLite and tf2onnx ONNX); fp16, dynamic int8, full
int8 and int16x8 keep the test accuracy within 0.6 points (asserted: ≤ 2 points for these
2-epoch models, whose logits are less separated than the reference CNN's).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.convert.api import convert
from edgeport.convert.keras_to_tflite import KerasToTflite, SavedModelToTflite, TfliteConverterOptions
from edgeport.errors import ConversionError
from edgeport.verify.compare import verify
from edgeport.verify.tolerance import Tolerance

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

MAX_DROP = 0.02


@pytest.fixture(scope="module")
def keras_fp32(tmp_path_factory: pytest.TempPathFactory, keras_model, digits_nhwc):
    return convert(keras_model, "tflite", out=tmp_path_factory.mktemp("ktfl") / "tiny.tflite", data=digits_nhwc)


def test_keras_to_tflite_fp32_verified(keras_fp32):
    assert keras_fp32.converters == ["keras-to-tflite"]
    art = keras_fp32.artifact
    assert art.inputs[0].layout == "NHWC" and art.inputs[0].shape[1:] == (8, 8, 1)
    v = keras_fp32.verification
    assert v is not None and v.passed, v.failures()
    assert v.samples == 360 and v.reference_accuracy > 0.85
    assert v.outputs[0].top1_agreement == 1.0 and v.outputs[0].max_abs <= 1e-4


@pytest.mark.parametrize("precision", ["fp16", "int8-dynamic", "int8", "int16x8"])
def test_keras_to_tflite_reduced_precisions(precision, tmp_path, keras_model, keras_fp32, digits_nhwc):
    calibration = digits_nhwc.split("calibration") if precision in ("int8", "int16x8") else None
    art = KerasToTflite().convert(keras_model, tmp_path / f"k-{precision}.tflite",
                                  TfliteConverterOptions(precision=precision), calibration)
    from edgeport.graph.tflite_reader import read_graph

    dtype = {"int8": "int8"}.get(precision, "float32")
    assert art.inputs[0].dtype == dtype
    if precision == "int16x8":  # int16 activations inside the model
        assert "int16" in {t.dtype for t in read_graph(art.path).activations()}
    from edgeport.graph.tflite_reader import read_graph

    weights = read_graph(art.path).weight_bytes() / read_graph(keras_fp32.artifact.path).weight_bytes()
    assert weights < (0.6 if precision == "fp16" else 0.45), weights
    tol = Tolerance.for_precision("fp16" if precision == "fp16" else "int8")
    v = verify(keras_model, art, digits_nhwc, tolerance=tol)
    assert v.accuracy_delta is not None and -v.accuracy_delta <= MAX_DROP, v.accuracy_delta
    assert v.outputs[0].top1_agreement >= 0.97


def test_keras_to_onnx_via_saved_model(tmp_path, keras_model, digits_nhwc):
    result = convert(keras_model, "onnx", out=tmp_path / "tiny.onnx", data=digits_nhwc)
    assert result.converters == ["keras-to-onnx"]
    assert result.artifact.inputs[0].layout == "NHWC"
    v = result.verification
    assert v is not None and v.passed, v.failures()
    assert v.outputs[0].top1_agreement == 1.0 and v.outputs[0].max_abs <= 1e-4


@pytest.fixture(scope="module")
def cumprod_saved_model(tmp_path_factory: pytest.TempPathFactory):
    """A SavedModel using tf.math.cumprod, which has no TFLite builtin (only a Flex kernel)."""
    import tensorflow as tf

    from edgeport import load_artifact

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serving(x):  # type: ignore[no-untyped-def]
        return {"output_0": tf.math.cumprod(x, axis=1) * 2.0}

    module = tf.Module()
    module.serving = serving
    path = tmp_path_factory.mktemp("cumprod") / "cumprod"
    tf.saved_model.save(module, str(path), signatures={"serving_default": serving.get_concrete_function()})
    return load_artifact(path)


def test_unsupported_tf_op_and_flex_note(tmp_path, cumprod_saved_model):
    from edgeport.errors import BackendError
    from edgeport.graph.tflite_reader import op_inventory, read_graph
    from edgeport.runtimes.base import open_runtime

    with pytest.raises(ConversionError) as info:
        SavedModelToTflite().convert(cumprod_saved_model, tmp_path / "a.tflite", TfliteConverterOptions(), None)
    text = str(info.value)
    assert "saved-model-to-tflite" in text and "Cumprod" in text and "\n" not in text
    # with Select TF ops the model converts, and is flagged as not deployable on most devices
    art = SavedModelToTflite().convert(cumprod_saved_model, tmp_path / "flex.tflite",
                                       TfliteConverterOptions(allow_flex=True), None)
    inv = op_inventory(read_graph(art.path))
    assert inv.flex == {"FlexCumprod": 1} and not inv.deployable
    assert any("most devices" in n for n in art.metadata["notes"])
    with pytest.raises(BackendError, match="Flex"), open_runtime(art, "litert") as rt:
        rt.run({"x": np.ones((1, 4), np.float32)})


def test_jax_to_tflite_verified(tmp_path, digits_nhwc):
    import jax
    import jax.numpy as jnp

    from edgeport.convert.jax_to_tflite import convert_jax
    from edgeport.core.tensors import TensorSpec

    rng = np.random.default_rng(0)
    filters = rng.standard_normal((3, 3, 1, 8)).astype(np.float32) * 0.5

    def features(x):  # type: ignore[no-untyped-def]
        y = jax.lax.conv_general_dilated(x, filters, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(y).reshape(x.shape[0], -1)

    train = digits_nhwc.split("train")
    feats = np.asarray(features(jnp.asarray(train.inputs["image"])))
    feats = np.concatenate([feats, np.ones((len(feats), 1), np.float32)], axis=1)
    targets = np.eye(10)[train.labels]
    gram = feats.T.astype(np.float64) @ feats + 1.0 * np.eye(feats.shape[1])  # ridge: small, well-conditioned weights
    weights = np.linalg.solve(gram, feats.T.astype(np.float64) @ targets).astype(np.float32)

    def model(x):  # type: ignore[no-untyped-def]
        return features(x) @ weights[:-1] + weights[-1]

    spec = TensorSpec("image", "float32", ("batch", 8, 8, 1), "NHWC")
    result = convert_jax(model, [spec], tmp_path / "jax.tflite", data=digits_nhwc)
    assert result.artifact.parent is not None and result.artifact.parent.metadata["source_framework"] == "jax"
    v = result.verification
    assert v is not None and v.passed, v.failures()
    assert v.reference_accuracy > 0.85 and v.outputs[0].top1_agreement == 1.0
    # and against the JAX function itself, not only its SavedModel
    from edgeport.runtimes.base import open_runtime, run_dataset

    test = digits_nhwc.split("test")
    with open_runtime(result.artifact, "litert") as rt:
        got = next(iter(run_dataset(rt, test).values()))
    want = np.asarray(model(jnp.asarray(test.inputs["image"])))
    assert np.abs(got - want).max() <= 1e-4
