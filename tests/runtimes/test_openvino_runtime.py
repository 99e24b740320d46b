"""OpenVINO runtime on the real digits model: f32 by default, bf16 recorded and reported, options, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport.errors import ConfigError, FeedError, ModelFileError
from edgeport.runtimes.base import open_runtime, run_dataset, runtimes_for
from edgeport.verify.compare import verify
from edgeport.verify.tolerance import Tolerance

ov = pytest.importorskip("openvino")


def _has_bf16() -> bool:
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.fixture(scope="module")
def ir(tmp_path_factory: pytest.TempPathFactory, digits_pt2):
    """The digits CNN as fp32 IR, converted in this process (the converter's own tests use the isolated path)."""
    from edgeport.convert.torch_to_openvino import TorchToOpenVINO

    out = tmp_path_factory.mktemp("ovrt") / "digits.xml"
    return TorchToOpenVINO().convert(digits_pt2, out, TorchToOpenVINO.Options())


@pytest.fixture(scope="module")
def reference(digits_pt2, digits_data):
    with open_runtime(digits_pt2) as rt:
        return next(iter(run_dataset(rt, digits_data.split("test")).values()))


def _logits(artifact, data, options=None, runtime="openvino"):
    from edgeport.runtimes.openvino import OpenVINOOptions

    with open_runtime(artifact, runtime, options or OpenVINOOptions()) as rt:
        out = next(iter(run_dataset(rt, data.split("test")).values()))
        return out, rt.describe()


def test_default_is_real_f32(ir, digits_data, reference):
    logits, info = _logits(ir, digits_data)
    assert info["inference_precision"] == "f32" and info["requested_precision"] == "f32"
    assert set(info["kernel_precisions"]) == {"f32"}
    np.testing.assert_allclose(logits, reference, atol=1e-4, rtol=1e-3)
    assert float((logits.argmax(1) == digits_data.split("test").labels).mean()) >= 0.97


@pytest.mark.skipif(not _has_bf16(), reason="this CPU has no bf16 inference")
def test_bf16_hint_is_recorded_and_changes_numerics(ir, digits_data, reference):
    from edgeport.runtimes.openvino import OpenVINOOptions

    logits, info = _logits(ir, digits_data, OpenVINOOptions(inference_precision="bf16"))
    assert info["inference_precision"] == "bf16"
    assert "bf16" in info["kernel_precisions"]
    err = float(np.abs(logits - reference).max())
    assert err > 1e-3  # measured ≈ 0.054 on digits
    assert float((logits.argmax(1) == reference.argmax(1)).mean()) >= 0.98
    # the plugin default on this CPU is bf16 too: None asks for the default and records what ran
    _, default_info = _logits(ir, digits_data, OpenVINOOptions(inference_precision=None))
    assert default_info["inference_precision"] == "bf16"


@pytest.mark.skipif(not _has_bf16(), reason="this CPU has no bf16 inference")
def test_bf16_beyond_tolerance_names_the_f32_fix(ir, digits_pt2, digits_data):
    from edgeport.runtimes.openvino import OpenVINOOptions

    strict = Tolerance(atol=1e-4, rtol=1e-3)
    bad = verify(digits_pt2, ir, digits_data, tolerance=strict,
                 test_options=OpenVINOOptions(inference_precision="bf16"))
    assert not bad.passed
    note = [w for w in bad.warnings if w.startswith("bf16 inference exceeds tolerance")]
    assert note and "use inference_precision='f32'" in note[0] and "max abs error" in note[0]
    good = verify(digits_pt2, ir, digits_data, tolerance=strict)
    assert good.passed and not any("inference exceeds" in w for w in good.warnings)


def test_threads_streams_and_hint_are_applied(ir, digits_data):
    from edgeport.runtimes.openvino import OpenVINOOptions

    opts = OpenVINOOptions(threads=1, streams=1, performance_hint="THROUGHPUT")
    _, info = _logits(ir, digits_data, opts)
    assert info["threads"] == 1 and info["streams"] == 1 and info["performance_hint"] == "THROUGHPUT"


def test_runs_onnx_directly_but_ort_stays_default(digits_onnx, digits_data, reference):
    assert [c.name for c in runtimes_for(digits_onnx.format)][0] == "onnxruntime"
    assert "openvino" in [c.name for c in runtimes_for(digits_onnx.format)]
    logits, info = _logits(digits_onnx, digits_data)
    assert info["inference_precision"] == "f32"
    np.testing.assert_allclose(logits, reference, atol=1e-4, rtol=1e-3)


def test_bad_options_and_feeds(ir):
    from edgeport.runtimes.openvino import OpenVINOOptions

    with pytest.raises(ConfigError) as info:
        open_runtime(ir, "openvino", OpenVINOOptions(inference_precision="fp64")).open()
    assert "f32, bf16, f16" in str(info.value)
    with pytest.raises(ConfigError):
        open_runtime(ir, "openvino", OpenVINOOptions(performance_hint="fastest")).open()
    with open_runtime(ir, "openvino") as rt, pytest.raises(FeedError):
        rt.run({"input": np.zeros((2, 1, 9, 9), np.float32)})


def test_missing_bin_and_corrupt_ir(ir, tmp_path: Path):
    xml = tmp_path / "copy.xml"
    xml.write_bytes(ir.path.read_bytes())
    with pytest.raises(ModelFileError) as info:
        load_artifact(xml)
    assert ".bin" in str(info.value)
    (tmp_path / "copy.bin").write_bytes(b"\0" * 16)
    (tmp_path / "copy.xml").write_text(ir.path.read_text()[:300])  # truncated XML
    with pytest.raises(ModelFileError) as info:
        load_artifact(xml)
    assert "OpenVINO cannot read" in str(info.value) and "\n" not in str(info.value)


def test_listed_for_doctor_and_bench():
    from edgeport.runtimes import RUNTIMES
    from edgeport.runtimes.openvino import OpenVINORuntime

    assert "openvino" in RUNTIMES.names() and OpenVINORuntime.available()
    assert OpenVINORuntime.version()


def test_read_only_feeds_and_outputs_that_outlive_the_next_run(ir, digits_data, reference):
    """Inputs are shared with OpenVINO without a copy where they can be and outputs copied out of the request:
    a read-only batch still runs, and a result is not overwritten by the next call."""
    from edgeport.runtimes.openvino import OpenVINOOptions

    test = digits_data.split("test")
    (name,) = test.inputs
    first = np.ascontiguousarray(test.inputs[name][:5])
    first.setflags(write=False)
    with open_runtime(ir, "openvino", OpenVINOOptions(threads=1)) as rt:
        (out1,) = rt.run({name: first}).values()
        rt.run({name: np.ascontiguousarray(test.inputs[name][5:9])})
        np.testing.assert_allclose(out1, reference[:5], atol=1e-4)
