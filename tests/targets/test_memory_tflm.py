"""Arena planner vs the real TFLite Micro interpreter on int8 models built here.

For each model: bisect the smallest arena TFLite Micro accepts (each probe in a forked child),
check the outputs at that arena are right, and check edgeport's estimate is within 5 % of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]


def _int8_tflite(model, rep_inputs: np.ndarray, path: Path) -> Path:
    import tensorflow as tf

    def rep():
        for x in rep_inputs:
            yield [x[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


@pytest.fixture(scope="session")
def int8_models(tmp_path_factory: pytest.TempPathFactory, digits_data) -> dict[str, tuple[Path, np.ndarray]]:
    pytest.importorskip("tflite_micro")
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("tf_keras")
    L = keras.layers
    tf.random.set_seed(0)
    out = tmp_path_factory.mktemp("tflm")
    train, test = digits_data.split("train"), digits_data.split("test")
    xtr = np.transpose(train.inputs["x"], (0, 2, 3, 1))  # NCHW -> NHWC
    xte = np.transpose(test.inputs["x"], (0, 2, 3, 1))
    cnn = keras.Sequential([L.Input((8, 8, 1)), L.Conv2D(16, 3, padding="same", activation="relu"),
                            L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPool2D(), L.Flatten(),
                            L.Dense(64, activation="relu"), L.Dense(10)])
    cnn.compile(optimizer=keras.optimizers.Adam(3e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cnn.fit(xtr, train.labels, epochs=15, batch_size=64, verbose=0)
    models = {"digits_cnn": (_int8_tflite(cnn, xtr[:128], out / "digits_cnn.tflite"), xte)}

    rng = np.random.default_rng(0)
    i = L.Input((32, 32, 3))
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(i)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Add()([x, L.Conv2D(16, 1)(y)])
    x = L.AveragePooling2D()(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = L.Dense(10)(L.GlobalAveragePooling2D()(x))
    res = keras.Model(i, L.Softmax()(x))
    xr = rng.random((24, 32, 32, 3), dtype=np.float32)
    models["dw_residual"] = (_int8_tflite(res, xr[:16], out / "dw_residual.tflite"), xr[16:])

    mlp = keras.Sequential([L.Input((64,)), L.Dense(128, activation="relu"), L.Dense(64, activation="relu"),
                            L.Dense(10), L.Softmax()])
    xm = rng.random((24, 64), dtype=np.float32)
    models["mlp"] = (_int8_tflite(mlp, xm[:16], out / "mlp.tflite"), xm[16:])
    return models


def _quantize(path: Path, x: np.ndarray) -> np.ndarray:
    from edgeport.graph.tflite_reader import read_graph

    g = read_graph(path)
    q = g.tensor(g.inputs[0]).quant
    return np.clip(np.round(x / q.scale[0] + q.zero_point[0]), -128, 127).astype(np.int8)


def _reference(path: Path, xq: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for x in xq:
        it.set_tensor(inp["index"], x[None])
        it.invoke()
        outs.append(it.get_tensor(outp["index"])[0].copy())
    return np.stack(outs)


@pytest.mark.parametrize("name", ["digits_cnn", "dw_residual", "mlp"])
def test_arena_estimate_within_5_percent_of_tflm_minimum(int8_models, name: str, digits_data):
    from edgeport.analysis.memory import estimate_memory
    from edgeport.analysis.tflm_arena import run_tflm, tflm_min_arena

    path, xs = int8_models[name]
    xq = _quantize(path, xs)
    found = tflm_min_arena(path, [xq[0][None]], upper=1 << 18)
    est = estimate_memory(path)
    err = (est.arena_bytes - found.min_arena_bytes) / found.min_arena_bytes
    print(f"{name}: TFLM minimum {found.min_arena_bytes} B, estimate {est.arena_bytes} B ({err:+.1%}); "
          f"activations {est.activation_bytes} B (lower bound {est.lower_bound}), overhead {est.runtime_overhead_bytes}")
    assert abs(err) <= 0.05
    assert est.lower_bound <= est.activation_bytes < found.min_arena_bytes
    with pytest.raises(RuntimeError):  # one byte less really fails
        run_tflm(path.read_bytes(), found.min_arena_bytes - 1, [xq[0][None]])
    # outputs at the minimum arena match LiteRT's reference interpreter
    ref = _reference(path, xq)
    model = path.read_bytes()
    got = np.stack([run_tflm(model, found.min_arena_bytes, [x[None]])[0][0] for x in xq])
    assert np.abs(got.astype(np.int32) - ref.astype(np.int32)).max() <= 1
    assert np.array_equal(got[0], found.outputs[0][0])
    if name == "digits_cnn":  # and they are right: held-out digits accuracy
        labels = digits_data.split("test").labels
        acc = float(np.mean(got.argmax(axis=1) == labels))
        print(f"digits_cnn int8 on TFLite Micro at the minimum arena: test accuracy {acc:.3f}")
        assert acc >= 0.9


def test_fit_verdict_and_suggestions(int8_models):
    from edgeport.analysis.memory import fit

    path, _ = int8_models["dw_residual"]
    ok = fit(path, "stm32h743")
    assert ok.fits and ok.ram_margin_bytes > 0 and "fits on stm32h743" in ok.verdict
    tiny = fit(path, "stm32f446")
    assert tiny.fits  # 16 KB arena, 128 KB SRAM
    assert tiny.flash_bytes > tiny.estimate.weight_bytes  # runtime code counted


def test_gpu_delegate_rules_on_a_real_tflite_model(tmp_path: Path):
    """CUMSUM and TOPK_V2 (which TFLite's own GPU compatibility check calls compatible) fall back."""
    tf = pytest.importorskip("tensorflow")
    from edgeport.analysis.compat import analyze

    w = tf.constant(np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32)])
    def fn(x):
        h = tf.nn.relu(tf.matmul(x, w))
        c = tf.math.cumsum(h, axis=1)
        values, _ = tf.math.top_k(tf.nn.relu(c) * 2.0, k=4)
        return tf.nn.softmax(values)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    path = tmp_path / "cumsum_topk.tflite"
    path.write_bytes(conv.convert())
    rep = analyze(path, "pixel-8", paths=["tflite-gpu"])
    unsupported = {f.op_type: f.reason for f in rep.fallbacks}
    assert {"CUMSUM", "TOPK_V2"} <= set(unsupported) and set(unsupported.values()) == {"op"}
    assert rep.partitions >= 2 and rep.delegated_nodes == rep.total_nodes - len(rep.fallbacks)
    print(rep.verdict)
