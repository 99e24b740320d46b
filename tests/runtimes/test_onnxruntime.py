"""ONNX Runtime on the real digits model: results, options, and every bad-input path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport import Artifact, Format, load_artifact
from edgeport.errors import FeedError, MissingDependencyError, ModelFileError
from edgeport.runtimes.base import open_runtime, run_dataset
from edgeport.runtimes.onnxruntime import OnnxRuntime, OnnxRuntimeOptions

pytest.importorskip("onnxruntime")


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and text.strip(), repr(text)
    return text


def test_digits_onnx_classifies_the_test_split(digits_onnx, digits_data):
    test = digits_data.split("test")
    with OnnxRuntime(digits_onnx) as rt:
        out = run_dataset(rt, test)
    (logits,) = out.values()
    assert logits.shape == (test.count, 10)
    assert logits.dtype == np.float32
    accuracy = float((logits.argmax(1) == test.labels).mean())
    assert accuracy >= 0.97


def test_run_matches_run_prepared(digits_onnx, digits_data):
    feeds = digits_data.feeds(digits_onnx.inputs, index=0, batch_size=4)
    with OnnxRuntime(digits_onnx) as rt:
        a = rt.run(feeds)
        b = rt.run_prepared(rt.prepare(feeds))
    np.testing.assert_array_equal(next(iter(a.values())), next(iter(b.values())))


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_option_is_honoured_and_described(digits_onnx, threads):
    with open_runtime(digits_onnx, "onnxruntime", OnnxRuntimeOptions(threads=threads)) as rt:
        info = rt.describe()
        assert info["threads"] == threads
        assert info["runtime"] == "onnxruntime"
        assert info["providers"] == ["CPUExecutionProvider"]
        assert rt._session.get_session_options().intra_op_num_threads == threads


def test_graph_optimisation_level_changes_nothing_numerically(digits_onnx, digits_data):
    feeds = digits_data.feeds(digits_onnx.inputs, index=0, batch_size=8)
    with OnnxRuntime(digits_onnx, OnnxRuntimeOptions(graph_optimization="disable")) as plain, \
            OnnxRuntime(digits_onnx, OnnxRuntimeOptions(graph_optimization="all")) as fused:
        a = next(iter(plain.run(feeds).values()))
        b = next(iter(fused.run(feeds).values()))
        assert fused.describe()["graph_optimization"] == "all"
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_wrong_shape_feed_is_one_line_feed_error(digits_onnx):
    with OnnxRuntime(digits_onnx) as rt, pytest.raises(FeedError) as err:
        rt.run({"input": np.zeros((1, 1, 9, 9), np.float32)})
    text = _one_line(err.value)
    assert "shape" in text and "(1, 1, 9, 9)" in text


def test_wrong_rank_feed_is_feed_error(digits_onnx):
    with OnnxRuntime(digits_onnx) as rt, pytest.raises(FeedError) as err:
        rt.run({"input": np.zeros((8, 8), np.float32)})
    assert "rank" in _one_line(err.value)


def test_wrong_dtype_feed_is_feed_error(digits_onnx):
    with OnnxRuntime(digits_onnx) as rt, pytest.raises(FeedError) as err:
        rt.run({"input": np.zeros((1, 1, 8, 8), np.int32)})
    text = _one_line(err.value)
    assert "int32" in text and "float32" in text


def test_float64_feed_is_cast_not_rejected(digits_onnx, digits_data):
    feeds = digits_data.feeds(digits_onnx.inputs, index=3, batch_size=2)
    with OnnxRuntime(digits_onnx) as rt:
        a = next(iter(rt.run(feeds).values()))
        b = next(iter(rt.run({k: v.astype(np.float64) for k, v in feeds.items()}).values()))
    np.testing.assert_array_equal(a, b)


def test_unknown_feed_name_is_feed_error(digits_onnx):
    with OnnxRuntime(digits_onnx) as rt, pytest.raises(FeedError) as err:
        rt.run({"a": np.zeros((1, 1, 8, 8), np.float32), "b": np.zeros((1, 1, 8, 8), np.float32)})
    _one_line(err.value)


def _truncated_copy(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def test_truncated_onnx_is_model_file_error_when_loading(digits_onnx, tmp_path):
    bad = _truncated_copy(digits_onnx.path, tmp_path / "bad.onnx", 0.5)
    with pytest.raises(ModelFileError) as err:
        load_artifact(bad)
    assert "bad.onnx" in _one_line(err.value)


def test_truncated_onnx_is_model_file_error_in_the_runtime(digits_onnx, tmp_path):
    """Even with specs known up front, ORT's own parse failure becomes a ModelFileError."""
    bad = _truncated_copy(digits_onnx.path, tmp_path / "cut.onnx", 0.6)
    art = Artifact(path=bad, format=Format.ONNX, inputs=digits_onnx.inputs, outputs=digits_onnx.outputs)
    with pytest.raises(ModelFileError) as err:
        OnnxRuntime(art).open()
    assert "cut.onnx" in _one_line(err.value)


def test_corrupt_bytes_onnx_is_model_file_error(digits_onnx, tmp_path):
    data = bytearray(digits_onnx.path.read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(16, len(data), size=len(data) // 50):
        data[i] ^= 0xFF
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(bytes(data))
    art = Artifact(path=bad, format=Format.ONNX, inputs=digits_onnx.inputs, outputs=digits_onnx.outputs)
    with pytest.raises((ModelFileError,)) as err:
        load_artifact(bad)
        OnnxRuntime(art).open()
    _one_line(err.value)


def test_missing_execution_provider_is_missing_dependency(digits_onnx):
    opts = OnnxRuntimeOptions(providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    with pytest.raises(MissingDependencyError) as err:
        OnnxRuntime(digits_onnx, opts).open()
    assert err.value.exit_code == 3
    assert err.value.extra == "gpu"
    assert 'edgeport[gpu]' in _one_line(err.value)
